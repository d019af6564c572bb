import Crypto
import Foundation
import XCTest

@testable import TandemBroker

final class AsciicastRecorderTests: XCTestCase {
    func testWritesHeaderAndEventsAsJSONLines() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rec-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let recorder = try AsciicastRecorder(directory: dir, name: "s-1", columns: 100, rows: 30, term: "xterm", title: "t")
        recorder.output(Array("hello \"world\"\r\n".utf8))
        recorder.input(Array("ls\r".utf8))
        recorder.resize(columns: 120, rows: 40)
        recorder.output([0xff, 0xfe, 0x41])  // invalid UTF-8 must not break the file
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
}
