import TandemCore
import XCTest

/// What a resume needs: the bytes a side sent, by offset, and the first line each way.
final class ReplayLogTests: XCTestCase {
    func testALogGivesBackEverythingFromAnOffsetAndSaysWhenItIsForgotten() {
        var log = ReplayLog(capacity: 10)
        log.append(Array("abcd".utf8))
        log.append(Array("ef".utf8), stderr: true)
        XCTAssertEqual(log.total, 6)
        XCTAssertEqual(log.since(6), [])
        XCTAssertEqual(log.since(3), [.init(stderr: false, bytes: Array("d".utf8)), .init(stderr: true, bytes: Array("ef".utf8))])
        XCTAssertNil(log.since(7), "an offset never sent")
        log.append(Array("ghijklm".utf8))
        // 13 bytes, at most 10 held: the oldest chunk ("abcd", with "ghijklm" gathered into the
        // next one) is forgotten whole, never a part of one.
        XCTAssertEqual(log.start, 4)
        XCTAssertNil(log.since(3), "forgotten bytes are not made up")
        XCTAssertEqual(log.since(4)?.flatMap(\.bytes), Array("efghijklm".utf8))
        // One chunk over the capacity alone is kept (it is the newest).
        var small = ReplayLog(capacity: 2)
        small.append(Array("xyz".utf8))
        XCTAssertEqual(small.since(1)?.flatMap(\.bytes), Array("yz".utf8))
    }

    func testManySmallChunksStayBoundedAndInOrder() {
        var log = ReplayLog(capacity: 1000)
        for i in 0..<100_000 { log.append([UInt8(i % 251)]) }
        XCTAssertEqual(log.total, 100_000)
        // Forgotten a whole chunk at a time: at most the capacity and one chunk (16 KiB) held.
        XCTAssertLessThanOrEqual(log.start, 99_000)
        XCTAssertLessThanOrEqual(log.total - log.start, 1000 + 16 * 1024)
        XCTAssertEqual(log.since(99_998)?.flatMap(\.bytes), [UInt8(99_998 % 251), UInt8(99_999 % 251)])
        XCTAssertEqual(log.since(99_000)?.flatMap(\.bytes).count, 1000)
        XCTAssertLessThanOrEqual(log.chunkCount, 2, "one-byte writes are gathered, not kept one array each")
    }

    func testResumeLinesRoundTripAndHostileOnesAreRefused() throws {
        for line in [ResumeLine.request(channel: 3, received: 123_456), .accepted(received: 0), .refused("no channel of that name is waiting")] {
            let bytes = Array(line.text.utf8) + Array("tail".utf8)
            let parsed = try XCTUnwrap(try ResumeLine.parse(bytes))
            XCTAssertEqual(parsed.0, line)
            XCTAssertEqual(parsed.1, line.text.utf8.count, "only the line is taken; what follows is the stream")
        }
        XCTAssertNil(try ResumeLine.parse(Array("OK 12".utf8)), "unfinished")
        XCTAssertThrowsError(try ResumeLine.parse(Array(repeating: UInt8(ascii: "A"), count: 300))) { XCTAssertEqual($0 as? ResumeLine.ParseError, .tooLong) }
        for bad in ["OK -1\n", "OK 1 2\n", "TANDEM-RESUME/1 x 1\n", "TANDEM-RESUME/1 -3 1\n", "HELLO\n", "OK 99999999999999999999999\n"] {
            XCTAssertThrowsError(try ResumeLine.parse(Array(bad.utf8)), bad)
        }
        XCTAssertEqual(ResumeLine.refused("a\nb").text, "NO a b\n", "a reason cannot add a line")
    }
}
