import Foundation
import XCTest

/// Issue 10: `log-format = json` gives one JSON object per line, with the session and ticket as fields.
final class LogFormatTests: XCTestCase {
    func testJSONLogLinesCarryTheSessionAndTicket() throws {
        let fx = try BrokerFixture(name: "json-log", serveArguments: ["--log-format", "json"])
        defer { fx.stopAll() }
        let (id, agent) = try fx.activeSession()
        XCTAssertEqual(try fx.tandem(["session", "end", id]).status, 0)
        XCTAssertEqual(agent.wait(20), 0)
        // A hostile join: its source goes into a field, and the line stays one line.
        _ = try fx.agent(code: "123 456 789", answer: nil).wait(20)
        var lines: [[String: String]] = []
        var raw: [Substring] = []
        XCTAssertTrue(Harness.waitUntil(10) {
            let text = fx.broker.stderr
            raw = text.split(separator: "\n")
            lines = raw.compactMap { try? JSONDecoder().decode([String: String].self, from: Data($0.utf8)) }
            return lines.contains { $0["message"]?.contains("refused: unknown code") ?? false }
        }, fx.broker.stderr)
        XCTAssertEqual(lines.count, raw.count, "every line is a JSON object: \(raw.filter { !$0.hasPrefix("{") })")
        for line in lines {
            XCTAssertNotNil(line["time"])
            XCTAssertNotNil(line["level"])
            XCTAssertEqual(line["label"], "tandemd")
        }
        let ended = try XCTUnwrap(lines.first { $0["message"]?.contains("ended") ?? false }, "\(lines)")
        XCTAssertEqual(ended["session"], id)
        XCTAssertEqual(ended["ticket"], "1")
        XCTAssertEqual(ended["level"], "info")
    }
}
