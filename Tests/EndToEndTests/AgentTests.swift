import Foundation
import XCTest

/// The end-user's side: config file, `join` spelling, Ctrl-C, and requests outside the scopes.
final class AgentTests: XCTestCase {
    func testAgentReadsConfigAndCtrlCEndsTheSession() throws {
        let fx = try BrokerFixture(name: "agent")
        defer { fx.stopAll() }
        XCTAssertEqual(try fx.tandem(["ticket", "new", "Disk full", "--requester", "lee"]).status, 0)
        let conf = fx.dir.appendingPathComponent("agent.conf")
        try "broker = 127.0.0.1:\(fx.port)\nca = \(fx.dir.path)/certs/ca.crt\n".write(to: conf, atomically: true, encoding: .utf8)
        let request = try fx.requestSession(ticket: 1)
        let agent = try Child(Harness.tool("tandem-agent"), ["join", request.code, "--config", conf.path], in: fx.dir,
                              name: "agent-join", stdin: .pipe)
        defer { agent.stop() }
        agent.send("yes\n")
        XCTAssertEqual(request.child.wait(20), 0, request.child.stderr)
        XCTAssertEqual(try fx.tandem(["exec", request.id], after: ["--", "echo", "ok"]).stdout, "ok\n")

        kill(agent.process.processIdentifier, SIGINT)
        XCTAssertEqual(agent.wait(15), 0)
        XCTAssertTrue(agent.stderr.contains("ended: you ended it"), agent.stderr)
        XCTAssertTrue(Harness.waitUntil(10) { (try? fx.eventKinds().contains("ended")) ?? false })
        let after = try fx.tandem(["exec", request.id], after: ["--", "echo", "ok"])
        XCTAssertNotEqual(after.status, 0)
    }

    func testSubsystemOutsideTheScopesIsRefusedAndRecorded() throws {
        let fx = try BrokerFixture(name: "subsystem")
        defer { fx.stopAll() }
        _ = try fx.activeSession()
        let r = try runTool("/usr/bin/ssh", fx.opensshArguments + ["-s", "alice@tandem", "sftp"], in: fx.dir, timeout: 20)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(Harness.waitUntil(5) { (try? fx.eventKinds().contains("channel_refused")) ?? false })
        XCTAssertTrue(fx.broker.stderr.contains("refused subsystem 'sftp'"), fx.broker.stderr)
    }

    func testTimeLimitEndsTheSessionOnBothSides() throws {
        let fx = try BrokerFixture(name: "timelimit")
        defer { fx.stopAll() }
        XCTAssertEqual(try fx.tandem(["ticket", "new", "Quick look", "--requester", "lee"]).status, 0)
        let request = try fx.requestSession(ticket: 1, extra: ["--time-limit", "2"])
        let agent = try fx.agent(code: request.code, answer: "y")
        XCTAssertEqual(request.child.wait(20), 0)
        XCTAssertEqual(agent.wait(15), 0, "agent must stop by itself")
        XCTAssertTrue(agent.stderr.contains("time limit"), agent.stderr)
        XCTAssertTrue(Harness.waitUntil(10) {
            let show = (try? fx.tandem(["ticket", "show", "1"]).stdout) ?? ""
            return show.contains("ended") && (show.contains("reason=time limit reached") || show.contains("reason=agent disconnected"))
        })
    }

    func testAutoYesIsRefusedWithoutTheTestVariable() throws {
        let fx = try BrokerFixture(name: "autoyes")
        defer { fx.stopAll() }
        XCTAssertEqual(try fx.tandem(["ticket", "new", "Bench", "--requester", "lee"]).status, 0)
        let request = try fx.requestSession(ticket: 1)
        var env = ProcessInfo.processInfo.environment
        env["TANDEM_ALLOW_TEST_FLAGS"] = nil
        let refused = try Child(Harness.tool("tandem-agent"), [request.code, "--yes-for-tests", "--broker", "127.0.0.1:\(fx.port)", "--ca", "certs/ca.crt"],
                                in: fx.dir, name: "autoyes-refused", environment: env)
        XCTAssertNotEqual(refused.wait(10), 0)
        XCTAssertTrue(refused.stderr.contains("refused unless TANDEM_ALLOW_TEST_FLAGS=1"), refused.stderr)
        env["TANDEM_ALLOW_TEST_FLAGS"] = "1"
        let allowed = try Child(Harness.tool("tandem-agent"), [request.code, "--yes-for-tests", "--broker", "127.0.0.1:\(fx.port)", "--ca", "certs/ca.crt"],
                                in: fx.dir, name: "autoyes-allowed", environment: env)
        defer { allowed.stop() }
        XCTAssertEqual(request.child.wait(20), 0, request.child.stderr)
    }
}
