import Foundation
import XCTest

/// Issue 14, acceptance 5: a session with no input or output ends after a warning to both sides;
/// a busy one is not ended.
final class IdleLimitTests: XCTestCase {
    func testASilentSessionEndsAfterTheWarningAndABusyOneGoesOn() throws {
        let fx = try BrokerFixture(name: "idle")
        defer { fx.stopAll() }
        XCTAssertEqual(try fx.tandem(["ticket", "new", "Slow laptop", "--requester", "ana"]).status, 0)
        // Both ask for a 4-second idle limit (the broker's default is 15 min): a warning at 2 s.
        // The busy one first, printing before the quiet one exists, so no set-up time counts.
        let busy = try fx.requestSession(ticket: 1, extra: ["--idle-limit", "4"])
        let busyAgent = try fx.agent(code: busy.code, answer: "y")
        XCTAssertEqual(busy.child.wait(20), 0, busy.child.stderr)
        let busyShell = try PseudoTerminal(Harness.tool("tandem"), ["shell", busy.id] + fx.cliConfig, in: fx.dir, rows: 24, columns: 80)
        defer { busyShell.stop() }
        XCTAssertNotNil(busyShell.waitForMatch("[$#] "), busyShell.text)
        busyShell.type("for i in $(seq 1 60); do echo tick-$i; sleep 0.5; done\r")
        XCTAssertTrue(busyShell.waitFor("tick-1\r\n"), busyShell.text)

        let quiet = try fx.requestSession(ticket: 1, extra: ["--idle-limit", "4"])
        let quietAgent = try fx.agent(code: quiet.code, answer: "y")
        XCTAssertEqual(quiet.child.wait(20), 0, quiet.child.stderr)
        let quietShell = try PseudoTerminal(Harness.tool("tandem"), ["shell", quiet.id] + fx.cliConfig, in: fx.dir, rows: 24, columns: 80)
        defer { quietShell.stop() }
        XCTAssertNotNil(quietShell.waitForMatch("[$#] "), quietShell.text)

        // Nobody types and nothing prints: both sides are warned, then it ends.
        XCTAssertTrue(quietShell.waitFor("unless something is typed or shown", seconds: 10), quietShell.text)
        XCTAssertTrue(Harness.waitUntil(10) { quietAgent.stderr.contains("The session has been idle for 2 s") }, quietAgent.stderr)
        XCTAssertTrue(quietShell.waitFor("the session ended: idle limit reached: no input or output for 4 s", seconds: 10), quietShell.text)
        XCTAssertNotNil(quietAgent.wait(15), "the agent of the idle session did not end")
        XCTAssertTrue(quietAgent.stderr.contains("idle limit reached"), quietAgent.stderr)
        // What it came to, on both sides: a shell, nothing else.
        XCTAssertTrue(quietShell.text.contains("; 0 commands, 1 shell, no files moved)"), quietShell.text)
        XCTAssertTrue(quietAgent.stderr.contains("; 0 commands, 1 shell, no files moved)"), quietAgent.stderr)
        // The warning came before the end, on both sides.
        let warnedAt = try XCTUnwrap(quietShell.text.range(of: "unless something is typed")?.lowerBound)
        let endedAt = try XCTUnwrap(quietShell.text.range(of: "idle limit reached")?.lowerBound)
        XCTAssertLessThan(warnedAt, endedAt)
        let agentWarned = try XCTUnwrap(quietAgent.stderr.range(of: "has been idle")?.lowerBound)
        let agentEnded = try XCTUnwrap(quietAgent.stderr.range(of: "idle limit reached")?.lowerBound)
        XCTAssertLessThan(agentWarned, agentEnded)
        var reason = ""
        XCTAssertTrue(Harness.waitUntil(10) {
            reason = (try? fx.sql("SELECT json_extract(data, '$.reason') FROM events WHERE session_id = '\(quiet.id)' AND kind = 'ended'")) ?? ""
            return !reason.isEmpty
        })
        XCTAssertEqual(reason.trimmingCharacters(in: .whitespacesAndNewlines), "idle limit reached: no input or output for 4 s")
        let requested = try fx.sql("SELECT json_extract(data, '$.idle_limit') FROM events WHERE session_id = '\(quiet.id)' AND kind = 'session_requested'")
        XCTAssertEqual(requested.trimmingCharacters(in: .whitespacesAndNewlines), "4")

        // The busy one printed for more than twice its limit and is still there.
        XCTAssertTrue(busyShell.waitFor("tick-20", seconds: 30), busyShell.text)
        let still = try fx.tandem(["exec", busy.id], after: ["--", "echo", "still-here"])
        XCTAssertEqual(still.stdout, "still-here\n", still.stderr)
        XCTAssertFalse(busyShell.text.contains("unless something is typed"), busyShell.text)
        XCTAssertFalse(busyShell.text.contains("idle limit reached"), busyShell.text)
        XCTAssertFalse(busyAgent.stderr.contains("has been idle"), busyAgent.stderr)
        XCTAssertTrue(fx.broker.stderr.contains("session \(quiet.id): no input or output for 2 s"), fx.broker.stderr)

        // A session may ask for less than the broker's limit, not more.
        let looser = try fx.tandem(["session", "new", "--ticket", "1", "--idle-limit", "901", "--no-shell"])
        XCTAssertNotEqual(looser.status, 0)
        XCTAssertTrue(looser.stderr.contains("--idle-limit 901 is longer than this broker allows (900 s)"), looser.stderr)
    }
}
