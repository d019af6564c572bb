import Foundation
import XCTest

/// Issue 14, acceptances 4 and 6: a session survives a dropped connection for the grace period,
/// with nothing lost or doubled; past it, it ends with that reason; a resume token works once
/// and only for its own session.
final class ResumeTests: XCTestCase {
    /// A TCP proxy the agent reaches the broker through, which the test can cut.
    private final class Proxy {
        let child: Child
        let port: Int

        init(_ fx: BrokerFixture) throws {
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Support/dropping_proxy.py").path
            let started = try Child("/usr/bin/python3", [script, String(fx.port)], in: fx.dir, name: "proxy-\(UUID().uuidString.prefix(4))")
            guard Harness.waitUntil(10, { started.stdout.contains("listening ") }),
                  let port = Int(started.stdout.components(separatedBy: "listening ")[1].prefix { $0.isNumber }) else {
                started.stop()
                throw Failure("the proxy did not start: \(started.stderr)")
            }
            child = started
            self.port = port
        }

        /// Resets every connection through it, both sides, as a dead network would look.
        func cut() { kill(child.process.processIdentifier, SIGUSR1) }
        /// Refuses (or, called again, accepts) new connections.
        func toggleRefusing() { kill(child.process.processIdentifier, SIGUSR2) }
        func stop() { child.stop() }
    }

    private func agentThroughProxy(_ fx: BrokerFixture, _ proxy: Proxy, code: String, tokens: URL? = nil) throws -> Child {
        var env = ProcessInfo.processInfo.environment
        env["TANDEM_ALLOW_TEST_FLAGS"] = "1"
        let extra = tokens.map { ["--resume-tokens-for-tests", $0.path] } ?? []
        let agent = try Child(Harness.tool("tandem-agent"), [code, "--broker", "127.0.0.1:\(proxy.port)", "--ca", "certs/ca.crt"] + extra,
                              in: fx.dir, name: "agent-\(UUID().uuidString.prefix(4))", stdin: .pipe, environment: env)
        fx.adopt(agent)
        agent.send("y\n")
        return agent
    }

    /// The N of each `line-N` the terminal showed, in order.
    private func numberedLines(_ text: String) -> [Int] {
        text.components(separatedBy: "\r\n").compactMap { line -> Int? in
            guard let r = line.range(of: "line-") else { return nil }
            return Int(line[r.upperBound...].prefix { $0.isNumber })
        }.filter { $0 > 0 }
    }

    private func kinds(_ fx: BrokerFixture, _ id: String) throws -> [String] {
        try fx.sql("SELECT kind FROM events WHERE session_id = '\(id)' ORDER BY id").split(separator: "\n").map(String.init)
    }

    func testTheAgentComesBackAfterADropAndTheCommandsWholeOutputArrivesOnce() throws {
        let fx = try BrokerFixture(name: "resume-agent")
        defer { fx.stopAll() }
        let proxy = try Proxy(fx)
        defer { proxy.stop() }
        XCTAssertEqual(try fx.tandem(["ticket", "new", "Wi-Fi drops", "--requester", "jane"]).status, 0)
        let request = try fx.requestSession(ticket: 1)
        let agent = try agentThroughProxy(fx, proxy, code: request.code)
        XCTAssertEqual(request.child.wait(20), 0, request.child.stderr)
        let shell = try PseudoTerminal(Harness.tool("tandem"), ["shell", request.id] + fx.cliConfig, in: fx.dir, rows: 24, columns: 80)
        defer { shell.stop() }
        XCTAssertNotNil(shell.waitForMatch("[$#] "), shell.text)

        // A long-running command; the connection is cut in its middle.
        shell.type("for i in $(seq 1 400); do echo line-$i; sleep 0.01; done; echo done-$((6*7))\r")
        XCTAssertTrue(shell.waitFor("line-40\r\n"), shell.text)
        proxy.cut()
        XCTAssertTrue(shell.waitFor("the user's connection dropped; the session waits up to 2 min 0 s for it to come back"), shell.text)
        // Typed while the user's side is away: held by the broker, run once it is back.
        shell.type("echo typed-$((5*5))\r")
        XCTAssertTrue(Harness.waitUntil(15) { agent.stderr.contains("Reconnected to the support service; the session goes on.") }, agent.stderr)
        XCTAssertTrue(shell.waitFor("the user's connection is back"), shell.text)
        XCTAssertTrue(shell.waitFor("done-42", seconds: 30), shell.text)

        // Every line once, in order: nothing lost in the drop, nothing sent twice.
        let lines = numberedLines(shell.text)
        XCTAssertEqual(lines, Array(1...400), "the output as the technician got it")
        XCTAssertTrue(shell.waitFor("typed-25"), "what was typed during the drop ran: \(shell.text.suffix(300))")
        XCTAssertEqual(shell.text.components(separatedBy: "typed-25").count, 2, "once")
        // The shell goes on where it was.
        shell.type("echo after-$((2*4))\r")
        XCTAssertTrue(shell.waitFor("after-8"), shell.text)
        let events = try kinds(fx, request.id)
        let dropped = try XCTUnwrap(events.firstIndex(of: "agent_disconnected"), "\(events)")
        let resumed = try XCTUnwrap(events.firstIndex(of: "agent_resumed"), "\(events)")
        XCTAssertLessThan(dropped, resumed)
        XCTAssertFalse(events.contains("ended"), "\(events)")
        XCTAssertEqual(events.filter { $0 == "approved" }.count, 1, "no new consent: \(events)")
        XCTAssertEqual(agent.stderr.components(separatedBy: "Allow alice to connect").count, 2, "the user was asked once: \(agent.stderr)")
    }

    func testPastTheGraceTheSessionEndsWithThatReason() throws {
        let fx = try BrokerFixture(name: "resume-grace", serveArguments: ["--resume-grace", "3"])
        defer { fx.stopAll() }
        let proxy = try Proxy(fx)
        defer { proxy.stop() }
        XCTAssertEqual(try fx.tandem(["ticket", "new", "Wi-Fi drops", "--requester", "jane"]).status, 0)
        let request = try fx.requestSession(ticket: 1)
        let agent = try agentThroughProxy(fx, proxy, code: request.code)
        XCTAssertEqual(request.child.wait(20), 0, request.child.stderr)
        let shell = try PseudoTerminal(Harness.tool("tandem"), ["shell", request.id] + fx.cliConfig, in: fx.dir, rows: 24, columns: 80)
        defer { shell.stop() }
        XCTAssertNotNil(shell.waitForMatch("[$#] "), shell.text)
        proxy.toggleRefusing()
        proxy.cut()
        XCTAssertTrue(shell.waitFor("the session ended: the end-user's connection dropped and did not come back within 3 s", seconds: 20),
                      shell.text)
        XCTAssertNotNil(agent.wait(20), "the agent gave up too")
        XCTAssertTrue(agent.stderr.contains("did not come back within 3 s"), agent.stderr)
        var reason = ""
        XCTAssertTrue(Harness.waitUntil(10) {
            reason = (try? fx.sql("SELECT json_extract(data, '$.reason') FROM events WHERE session_id = '\(request.id)' AND kind = 'ended'")) ?? ""
            return !reason.isEmpty
        })
        XCTAssertEqual(reason.trimmingCharacters(in: .whitespacesAndNewlines), "the end-user's connection dropped and did not come back within 3 s")
        let events = try kinds(fx, request.id)
        XCTAssertTrue(events.contains("agent_disconnected") && !events.contains("agent_resumed"), "\(events)")
    }

    func testAResumeTokenWorksOnceAndOnlyForItsOwnSession() throws {
        let fx = try BrokerFixture(name: "resume-token")
        defer { fx.stopAll() }
        let proxy = try Proxy(fx)
        defer { proxy.stop() }
        XCTAssertEqual(try fx.tandem(["ticket", "new", "Wi-Fi drops", "--requester", "jane"]).status, 0)
        let tokens = fx.dir.appendingPathComponent("tokens")
        let a = try fx.requestSession(ticket: 1)
        let agentA = try agentThroughProxy(fx, proxy, code: a.code, tokens: tokens)
        XCTAssertEqual(a.child.wait(20), 0, a.child.stderr)
        let (b, _) = try fx.activeSession()

        // A first drop: the agent comes back with its first token and now holds a second.
        proxy.cut()
        XCTAssertTrue(Harness.waitUntil(20) { agentA.stderr.contains("Reconnected to the support service") }, agentA.stderr)
        let held = try String(contentsOf: tokens, encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(held.count, 2, "a token at consent and the next one named at the resume")
        XCTAssertEqual(Set(held).count, 2)
        // The agent says so once its side is done; the broker's side is done once it is on record.
        XCTAssertTrue(Harness.waitUntil(10) { ((try? self.kinds(fx, a.id)) ?? []).contains("agent_resumed") })

        // A second drop, with the way back blocked: the session waits for its agent.
        proxy.toggleRefusing()
        proxy.cut()
        XCTAssertTrue(Harness.waitUntil(10) { ((try? self.kinds(fx, a.id)) ?? []).filter { $0 == "agent_disconnected" }.count == 2 })
        let client = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Support/hostile_client.py").path
        let ca = fx.dir.appendingPathComponent("certs/ca.crt").path
        func resume(_ session: String, _ token: String) throws -> String {
            try runTool("/usr/bin/python3", [client, String(fx.port), ca, "tandem-agent/1", "resume", session, token], in: fx.dir).stdout
        }
        // The used token, from another connection, while the session waits: refused.
        XCTAssertTrue(try resume(a.id, held[0]).hasPrefix("resumeRefused "), "a used token was taken")
        // The live token, for another session: refused.
        XCTAssertTrue(try resume(b, held[1]).hasPrefix("resumeRefused "), "a token of another session was taken")
        // Both refusals are on record.
        let refusals = try fx.sql("SELECT session_id || ' ' || json_extract(data, '$.reason') FROM events WHERE kind = 'resume_refused' ORDER BY id")
            .split(separator: "\n").map(String.init)
        XCTAssertEqual(refusals, ["\(a.id) wrong_token", "\(b) wrong_token"])

        // The agent itself still gets back, with the token it holds.
        proxy.toggleRefusing()
        XCTAssertTrue(Harness.waitUntil(20) { agentA.stderr.components(separatedBy: "Reconnected to the support service").count == 3 }, agentA.stderr)
        XCTAssertTrue(Harness.waitUntil(10) { ((try? self.kinds(fx, a.id)) ?? []).filter { $0 == "agent_resumed" }.count == 2 })
        let echo = try fx.tandem(["exec", a.id], after: ["--", "echo", "still-here"])
        XCTAssertEqual(echo.stdout, "still-here\n", echo.stderr)
    }

    /// The technician's CLI config, reaching the broker through `proxy`.
    private func throughProxy(_ fx: BrokerFixture, _ proxy: Proxy) throws -> [String] {
        let conf = try String(contentsOf: fx.dir.appendingPathComponent("tandem.conf"), encoding: .utf8)
            .replacingOccurrences(of: "127.0.0.1:\(fx.port)", with: "127.0.0.1:\(proxy.port)")
        let path = fx.dir.appendingPathComponent("proxied.conf")
        try conf.write(to: path, atomically: true, encoding: .utf8)
        return ["--config", path.path]
    }

    func testTheTechniciansShellIsTakenUpAfterTheirConnectionDrops() throws {
        let fx = try BrokerFixture(name: "resume-technician")
        defer { fx.stopAll() }
        let proxy = try Proxy(fx)
        defer { proxy.stop() }
        let (id, agent) = try fx.activeSession()
        let shell = try PseudoTerminal(Harness.tool("tandem"), ["shell", id] + (try throughProxy(fx, proxy)), in: fx.dir, rows: 24, columns: 80)
        defer { shell.stop() }
        XCTAssertNotNil(shell.waitForMatch("[$#] "), shell.text)
        shell.type("for i in $(seq 1 400); do echo line-$i; sleep 0.01; done; echo done-$((6*7))\r")
        XCTAssertTrue(shell.waitFor("line-40\r\n"), shell.text)
        proxy.cut()
        XCTAssertTrue(shell.waitFor("the connection to the broker dropped; reconnecting"), shell.text)
        // Typed while this side reconnects: sent once the broker says what it has.
        shell.type("echo typed-$((5*5))\r")
        XCTAssertTrue(shell.waitFor("back in the shell", seconds: 30), shell.text)
        XCTAssertTrue(shell.waitFor("done-42", seconds: 30), shell.text)
        let lines = numberedLines(shell.text)
        XCTAssertEqual(lines, Array(1...400), "the output as the technician got it")
        XCTAssertTrue(shell.waitFor("typed-25"), "what was typed during the drop ran: \(shell.text.suffix(300))")
        XCTAssertEqual(shell.text.components(separatedBy: "typed-25").count, 2, "once")
        // The same shell goes on.
        shell.type("echo after-$((2*4))\r")
        XCTAssertTrue(shell.waitFor("after-8"), shell.text)
        XCTAssertTrue(Harness.waitUntil(10) { agent.stderr.contains("The technician's connection dropped") && agent.stderr.contains("The technician is back.") },
                      agent.stderr)
        let events = try kinds(fx, id)
        let dropped = try XCTUnwrap(events.firstIndex(of: "technician_disconnected"), "\(events)")
        let resumed = try XCTUnwrap(events.firstIndex(of: "technician_resumed"), "\(events)")
        XCTAssertLessThan(dropped, resumed)
        XCTAssertEqual(events.filter { $0 == "shell_started" }.count, 1, "one shell, taken up, not a second one: \(events)")
        XCTAssertFalse(events.contains("ended"), "\(events)")
    }

    func testATechnicianWhoDoesNotComeBackEndsTheSessionWithThatReason() throws {
        let fx = try BrokerFixture(name: "resume-technician-grace", serveArguments: ["--resume-grace", "3"])
        defer { fx.stopAll() }
        let proxy = try Proxy(fx)
        defer { proxy.stop() }
        let (id, agent) = try fx.activeSession()
        let shell = try PseudoTerminal(Harness.tool("tandem"), ["shell", id] + (try throughProxy(fx, proxy)), in: fx.dir, rows: 24, columns: 80)
        defer { shell.stop() }
        XCTAssertNotNil(shell.waitForMatch("[$#] "), shell.text)
        proxy.toggleRefusing()
        proxy.cut()
        XCTAssertNotNil(agent.wait(20), "the session ended on the user's side")
        XCTAssertTrue(agent.stderr.contains("the technician's connection dropped and did not come back within 3 s"), agent.stderr)
        var reason = ""
        XCTAssertTrue(Harness.waitUntil(10) {
            reason = (try? fx.sql("SELECT json_extract(data, '$.reason') FROM events WHERE session_id = '\(id)' AND kind = 'ended'")) ?? ""
            return !reason.isEmpty
        })
        XCTAssertEqual(reason.trimmingCharacters(in: .whitespacesAndNewlines), "the technician's connection dropped and did not come back within 3 s")
        // The shell's end is on record before the session's, with its recording.
        let closed = try fx.sql("SELECT count(*) FROM events WHERE session_id = '\(id)' AND kind = 'channel_closed' AND json_extract(data, '$.recording_sha256') IS NOT NULL")
        XCTAssertEqual(closed.trimmingCharacters(in: .whitespacesAndNewlines), "1")
        // Once it can reach the broker again, the CLI hears the shell is gone, and stops.
        proxy.toggleRefusing()
        XCTAssertTrue(shell.waitFor("could not take the shell up again", seconds: 30), shell.text)
        XCTAssertTrue(shell.text.contains("is over"), shell.text)
    }

    func testAShellThatExitsWhileItsTechnicianIsAwayHandsThemItsEndWhenTheyReturn() throws {
        let fx = try BrokerFixture(name: "resume-technician-exit")
        defer { fx.stopAll() }
        let proxy = try Proxy(fx)
        defer { proxy.stop() }
        let (id, _) = try fx.activeSession()
        let shell = try PseudoTerminal(Harness.tool("tandem"), ["shell", id] + (try throughProxy(fx, proxy)), in: fx.dir, rows: 24, columns: 80)
        defer { shell.stop() }
        XCTAssertNotNil(shell.waitForMatch("[$#] "), shell.text)
        let pidFile = fx.dir.appendingPathComponent("shell.pid").path
        shell.type("echo $$ > \(pidFile)\r")
        XCTAssertTrue(Harness.waitUntil(10) { ((try? String(contentsOfFile: pidFile, encoding: .utf8)) ?? "").hasSuffix("\n") })
        let pid = try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        // The shell ends by itself while the technician cannot reach the broker.
        shell.type("sleep 1; echo gone-$((3*3)); exit 7\r")
        proxy.toggleRefusing()
        proxy.cut()
        XCTAssertTrue(shell.waitFor("the connection to the broker dropped; reconnecting"), shell.text)
        XCTAssertTrue(Harness.waitUntil(20) { !FileManager.default.fileExists(atPath: "/proc/\(pid)") }, "the shell on the user's side did not end")
        proxy.toggleRefusing()
        // Back: its last output, then its end, and the CLI exits with its status.
        XCTAssertTrue(shell.waitFor("gone-9", seconds: 30), shell.text)
        XCTAssertTrue(Harness.waitUntil(20) { !shell.process.isRunning }, shell.text)
        XCTAssertEqual(shell.process.terminationStatus, 7)
        var status = ""
        XCTAssertTrue(Harness.waitUntil(10) {
            status = ((try? fx.sql("SELECT json_extract(data, '$.exit_status') FROM events WHERE session_id = '\(id)' AND kind = 'channel_closed'")) ?? "")
                .trimmingCharacters(in: .whitespacesAndNewlines)
            return !status.isEmpty
        })
        XCTAssertEqual(status, "7")
        let events = try kinds(fx, id)
        XCTAssertTrue(events.contains("technician_resumed") && !events.contains("ended"), "\(events)")
    }
}
