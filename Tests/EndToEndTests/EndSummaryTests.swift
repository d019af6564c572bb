import Foundation
import XCTest

/// Issue 14, "a clear end": when a session ends, both sides see how long it lasted, what was run
/// and what files moved, beside the reason; the record keeps the reason alone.
final class EndSummaryTests: XCTestCase {
    func testBothSidesSeeWhatTheSessionCameTo() throws {
        let fx = try BrokerFixture(name: "end-summary")
        defer { fx.stopAll() }
        let (id, agent) = try fx.activeSession(scope: "shell,files")
        let shell = try PseudoTerminal(Harness.tool("tandem"), ["shell", id] + fx.cliConfig, in: fx.dir, rows: 24, columns: 80)
        defer { shell.stop() }
        XCTAssertNotNil(shell.waitForMatch("[$#] "), shell.text)
        XCTAssertEqual(try fx.tandem(["exec", id], after: ["--", "true"]).status, 0)
        XCTAssertEqual(try fx.tandem(["exec", id], after: ["--", "echo", "two"]).stdout, "two\n")
        let local = fx.dir.appendingPathComponent("fix.conf")
        try "retries = 3\n".write(to: local, atomically: true, encoding: .utf8)
        let remote = fx.dir.appendingPathComponent("on-their-side.conf").path
        XCTAssertEqual(try fx.tandem(["put", id, local.path, remote]).status, 0)
        let back = try fx.tandem(["get", id, remote, fx.dir.appendingPathComponent("back.conf").path])
        XCTAssertEqual(back.status, 0, back.stderr)
        var transfers = ""
        XCTAssertTrue(Harness.waitUntil(10) {
            transfers = (try? fx.sql("SELECT count(*) FROM events WHERE session_id = '\(id)' AND kind = 'file_transfer'")) ?? ""
            return transfers.trimmingCharacters(in: .whitespacesAndNewlines) == "2"
        }, transfers)

        XCTAssertEqual(try fx.tandem(["session", "end", id]).status, 0)
        let summary = "2 commands, 1 shell, 2 files moved (1 up, 1 down))"
        XCTAssertTrue(shell.waitFor(summary), "the technician's shell: \(shell.text.suffix(400))")
        XCTAssertTrue(shell.text.contains("the session ended: ended by technician (lasted "), shell.text.suffix(400).description)
        XCTAssertNotNil(agent.wait(15))
        XCTAssertTrue(agent.stderr.contains("ended: ended by technician (lasted "), agent.stderr)
        XCTAssertTrue(agent.stderr.contains(summary), agent.stderr)
        let reason = try fx.sql("SELECT json_extract(data, '$.reason') FROM events WHERE session_id = '\(id)' AND kind = 'ended'")
        XCTAssertEqual(reason.trimmingCharacters(in: .whitespacesAndNewlines), "ended by technician")
    }
}
