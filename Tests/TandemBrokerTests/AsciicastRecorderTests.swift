import Crypto
import Foundation
import NIOCore
import Synchronization
import XCTest

@testable import TandemBroker
import TandemAudit

final class AsciicastRecorderTests: XCTestCase {
    func testWritesHeaderAndEventsAsJSONLines() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rec-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let recorder = try AsciicastRecorder(directory: dir, name: "s-1", columns: 100, rows: 30, term: "xterm", title: "t")
        recorder.output(ByteBuffer(string: "hello \"world\"\r\n"))
        recorder.input(ByteBuffer(string: "ls\r"))
        recorder.resize(columns: 120, rows: 40)
        recorder.output(ByteBuffer(bytes: [0xff, 0xfe, 0x41]))  // invalid UTF-8 must not break the file
        let result = try XCTUnwrap(recorder.finish())
        let path = dir + "/" + result.sha256 + ".cast"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertEqual(SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined(), result.sha256, "named by its content")
        XCTAssertEqual(bytes.count, result.bytes)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/s-1.part"))
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 5)
        let header = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: Any]
        XCTAssertEqual(header["version"] as? Int, 2)
        XCTAssertEqual(header["width"] as? Int, 100)
        let events = try lines.dropFirst().map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [Any] }
        XCTAssertEqual(events.map { $0[1] as? String }, ["o", "i", "r", "o"])
        XCTAssertEqual(events[0][2] as? String, "hello \"world\"\r\n")
        XCTAssertEqual(events[2][2] as? String, "120x40")
        let times = events.map { $0[0] as! Double }
        XCTAssertEqual(times, times.sorted())
    }

    func testACharacterSplitAcrossReadsIsKeptWholeAndBatchesLoseNothing() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rec-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let recorder = try AsciicastRecorder(directory: dir, name: "s-2", columns: 80, rows: 24, term: "xterm", title: "t")
        let euro = Array("€".utf8)  // 3 bytes, sent as 2 + 1
        recorder.output(ByteBuffer(bytes: Array("price ".utf8) + euro[0..<2]))
        recorder.output(ByteBuffer(bytes: Array(euro[2...]) + Array("5\r\n".utf8)))
        // More than one batch, so lines are written both by size and at the end.
        let chunk = String(repeating: "x", count: 1000)
        for _ in 0..<200 { recorder.output(ByteBuffer(string: chunk)) }
        recorder.output(ByteBuffer(repeating: UInt8(ascii: "y"), count: 1_500_000))  // over the inbox limit: taken at once
        recorder.output(ByteBuffer(bytes: Array("é".utf8).prefix(1)))  // cut short by the end of the session
        let result = try XCTUnwrap(recorder.finish())
        let cast = try Asciicast.parse(Data(contentsOf: URL(fileURLWithPath: dir + "/" + result.sha256 + ".cast")))
        let text = cast.frames.map(\.data).joined()
        XCTAssertTrue(text.hasPrefix("price €5\r\n"), String(text.prefix(20)))
        XCTAssertFalse(text.contains("\u{FFFD}\u{FFFD}"))
        XCTAssertEqual(text.filter { $0 == "x" }.count, 200_000, "every byte of every batch")
        XCTAssertEqual(text.filter { $0 == "y" }.count, 1_500_000)
        XCTAssertTrue(text.hasSuffix("\u{FFFD}"), "a character cut by the end is kept as a replacement, not dropped")
    }

    /// The session's budget is shared and never overdrawn: the recording stops where it was,
    /// stays hashed and named, and the broker hears it once.
    func testTheRecordingBudgetStopsTheRecordingAndIsReportedOnce() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rec-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let budget = RecordingBudget(limit: 100_000)
        let reports = Mutex<[RecordingFailure]>([])
        let recorder = try AsciicastRecorder(directory: dir, name: "s-3", columns: 80, rows: 24, term: "xterm", title: "t",
                                             budget: budget, onFailure: { why in reports.withLock { $0.append(why) } })
        for _ in 0..<100 { recorder.output(ByteBuffer(string: String(repeating: "x", count: 10_000))) }
        let result = try XCTUnwrap(recorder.finish())
        XCTAssertEqual(result.failure, .capReached(limit: 100_000))
        XCTAssertEqual(reports.withLock { $0 }, [.capReached(limit: 100_000)], "reported once")
        XCTAssertLessThanOrEqual(result.bytes, 100_000)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + result.sha256 + ".cast"))
        XCTAssertEqual(bytes.count, result.bytes)
        XCTAssertEqual(SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined(), result.sha256, "what is on disk is what is named")
        XCTAssertFalse(budget.take(AsciicastRecorder.batchBytes), "what is left cannot hold another batch, for any channel of the session")
        let exact = RecordingBudget(limit: 10)
        XCTAssertTrue(exact.take(10))
        XCTAssertFalse(exact.take(1), "never overdrawn")
    }

    /// Two commands of one session started in the same millisecond each get their own file (it
    /// once ended a session with "File exists" when thirty commands ran at once).
    func testRecordingsStartedInTheSameMillisecondGetTheirOwnNames() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rec-names-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let now = Date()
        let stamps = (0..<200).map { _ in AsciicastRecorder.uniqueStamp(now: now) }
        XCTAssertEqual(Set(stamps).count, 200)
        XCTAssertEqual(stamps, stamps.sorted(), "in the order they were asked for")
        XCTAssertGreaterThanOrEqual(stamps[0], Int(now.timeIntervalSince1970 * 1000))
        let recorders = try (0..<3).map { _ in
            try AsciicastRecorder(directory: dir.path, name: "s-0000000a-\(AsciicastRecorder.uniqueStamp(now: now))", columns: 80, rows: 24,
                                  term: "xterm", title: "t")
        }
        XCTAssertEqual(recorders.count, 3)
        for recorder in recorders { XCTAssertNotNil(recorder.finish()) }
    }

    /// Unfinished recordings are finished whole and once: a file another broker claimed is taken
    /// up, and one still being written to is left for its writer.
    func testUnfinishedRecordingsAreClaimedHashedAndNamed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rec-parts-\(UUID().uuidString.prefix(8))")
        let parts = dir.appendingPathComponent("parts-x")
        try FileManager.default.createDirectory(at: parts, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let big = Data((0..<(3 << 20)).map { UInt8($0 % 251) })
        try big.write(to: parts.appendingPathComponent("s-0000000a-1.part"))
        try Data("claimed".utf8).write(to: parts.appendingPathComponent("s-0000000b-2.part.claimed"))
        try Data("busy".utf8).write(to: parts.appendingPathComponent("s-0000000c-3.part"))
        let past = Date().addingTimeInterval(-3600)
        for name in ["s-0000000a-1.part", "s-0000000b-2.part.claimed"] {
            try FileManager.default.setAttributes([.modificationDate: past], ofItemAtPath: parts.appendingPathComponent(name).path)
        }
        let (finished, failures) = UnfinishedRecording.finishAll(in: parts.path, into: dir.path, quietSince: Date().addingTimeInterval(-60))
        XCTAssertTrue(failures.isEmpty, "\(failures)")
        XCTAssertEqual(finished.map(\.file), ["s-0000000a-1.part", "s-0000000b-2.part"])
        XCTAssertEqual(finished.map(\.session), ["s-0000000a", "s-0000000b"])
        XCTAssertEqual(finished.first?.bytes, big.count)
        XCTAssertEqual(finished.first?.sha256, SHA256.hash(data: big).map { String(format: "%02x", $0) }.joined())
        for f in finished { XCTAssertTrue(FileManager.default.fileExists(atPath: dir.path + "/\(f.sha256).cast")) }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: parts.path).filter { !$0.hasPrefix(".") }, ["s-0000000c-3.part"],
                       "the busy one is left")
        // While another broker finishes the folder (it holds the folder's lock), this one leaves it.
        let lock = open(parts.path + "/" + UnfinishedRecording.lockName, O_RDWR)
        XCTAssertGreaterThanOrEqual(lock, 0)
        XCTAssertEqual(flock(lock, LOCK_EX | LOCK_NB), 0)
        try FileManager.default.setAttributes([.modificationDate: past], ofItemAtPath: parts.appendingPathComponent("s-0000000c-3.part").path)
        XCTAssertTrue(UnfinishedRecording.finishAll(in: parts.path, into: dir.path).finished.isEmpty, "the folder is another's now")
        close(lock)
        XCTAssertEqual(UnfinishedRecording.finishAll(in: parts.path, into: dir.path).finished.map(\.file), ["s-0000000c-3.part"])
        // Nothing is finished twice.
        XCTAssertTrue(UnfinishedRecording.finishAll(in: parts.path, into: dir.path, quietSince: Date().addingTimeInterval(-60)).finished.isEmpty)
    }

    /// An agent that sends faster than the disk takes is asked to wait: past the backlog limit the
    /// recorder says so, and calls back once the writer has caught up; nothing is lost.
    func testARecordingThatFallsBehindAsksTheRelayToWaitAndSaysWhenItCaughtUp() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rec-behind-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let recorder = try AsciicastRecorder(directory: dir.path, name: "s-0000000d-1", columns: 80, rows: 24, term: "xterm", title: "t")
        // The writer is busy elsewhere (another recording's backlog): nothing is written meanwhile.
        let busy = DispatchSemaphore(value: 0)
        RecordingWriter.shared.queue.async { busy.wait() }
        let chunk = ByteBuffer(string: String(repeating: "x", count: 1 << 20))
        var accepted = 0
        for _ in 0..<40 {
            guard recorder.output(chunk) else { break }
            accepted += 1
        }
        XCTAssertEqual(accepted, AsciicastRecorder.backlogLimit >> 20, "takes up to the limit, then asks to wait")
        let caughtUp = Mutex(false)
        recorder.whenCaughtUp { caughtUp.withLock { $0 = true } }
        XCTAssertFalse(caughtUp.withLock { $0 }, "not while the writer is busy")
        busy.signal()
        let deadline = Date().addingTimeInterval(30)
        while !caughtUp.withLock({ $0 }), Date() < deadline { usleep(10_000) }
        XCTAssertTrue(caughtUp.withLock { $0 }, "called once the backlog is written")
        XCTAssertTrue(recorder.output(chunk), "room again")
        let called = Mutex(false)
        recorder.whenCaughtUp { called.withLock { $0 = true } }
        XCTAssertTrue(called.withLock { $0 }, "at once when there is no backlog")
        let done = try XCTUnwrap(recorder.finish())
        XCTAssertNil(done.failure)
        let text = try String(contentsOfFile: dir.path + "/\(done.sha256).cast", encoding: .utf8)
        XCTAssertEqual(text.components(separatedBy: "\n").filter { $0.contains("\"o\"") }.count, accepted + 2, "every chunk kept")
    }
}
