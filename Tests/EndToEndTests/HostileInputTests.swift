import Foundation
import XCTest

/// Acceptance 7 and 8: hostile peers are dropped with a log line, refused requests are
/// recorded, and a concurrent real session keeps working throughout.
final class HostileInputTests: XCTestCase {
    private var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Support/hostile_client.py").path
    }

    func testHostileClientsAreDroppedWhileARealSessionKeepsWorking() throws {
        let fx = try BrokerFixture(name: "hostile", serveArguments: ["--handshake-timeout", "2"])
        defer { fx.stopAll() }
        let (id, _) = try fx.activeSession()
        let ca = fx.dir.appendingPathComponent("certs/ca.crt").path

        let clients = try [("tandem-ssh/1", "garbage"), ("tandem-agent/1", "oversized"), ("tandem-agent/1", "silent"),
                           ("tandem-ssh/1", "silent"), ("tandem-ssh/1", "bad-preamble"), ("tandem-ssh/1", "long-preamble")].map { alpn, mode in
            try Child("/usr/bin/python3", [script, "\(fx.port)", ca, alpn, mode], in: fx.dir, name: "hostile-\(mode)-\(alpn.prefix(9))")
        }
        // The real session works while the hostile connections are open.
        let during = try fx.tandem(["exec", id], after: ["--", "echo", "still-here"])
        XCTAssertEqual(during.stdout, "still-here\n", during.stderr)

        for client in clients {
            XCTAssertNotNil(client.wait(20), "broker never dropped a hostile client")
            XCTAssertTrue(client.stdout.contains("closed after"), client.stdout + client.stderr)
        }
        let log = fx.broker.stderr
        XCTAssertTrue(log.contains("exceeds the 65536-byte limit"), log)
        XCTAssertTrue(log.contains("silent or too slow"), log)
        // A proxy line naming no session, and one that never ends.
        XCTAssertTrue(log.contains("'../../etc/passwd' is not a session id"), log)
        XCTAssertTrue(log.contains("exceeds the 96-byte limit"), log)
        XCTAssertGreaterThanOrEqual(log.components(separatedBy: "dropped connection").count - 1, 6, log)

        let after = try fx.tandem(["exec", id], after: ["--", "echo", "after"])
        XCTAssertEqual(after.stdout, "after\n", after.stderr)
        XCTAssertEqual(after.status, 0)
    }

    /// An agent that sends SSH bytes at once behind its resume frame, before the broker answered:
    /// the bytes wait for the check, the broker refuses a wrong token, and nothing else happens
    /// (such bytes once reached a handler that reads only messages, and the broker stopped).
    func testBytesSentRightBehindAResumeWaitForItsCheck() throws {
        let fx = try BrokerFixture(name: "resume-early")
        defer { fx.stopAll() }
        let (id, _) = try fx.activeSession()
        let ca = fx.dir.appendingPathComponent("certs/ca.crt").path
        for session in [id, "s-00000000"] {
            let r = try runTool("/usr/bin/python3", [script, "\(fx.port)", ca, "tandem-agent/1", "resume-early", session, String(repeating: "a", count: 64)],
                                in: fx.dir, timeout: 30)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stdout.hasPrefix("resumeRefused "), "\(session): \(r.stdout) \(r.stderr)")
        }
        XCTAssertTrue(fx.broker.process.isRunning, fx.broker.stderr)
        let after = try fx.tandem(["exec", id], after: ["--", "echo", "after"])
        XCTAssertEqual(after.stdout, "after\n", after.stderr)
    }

    func testPortForwardingFromOpenSSHIsRefusedAndRecorded() throws {
        let fx = try BrokerFixture(name: "forward")
        defer { fx.stopAll() }
        let (id, _) = try fx.activeSession()
        let common = fx.opensshArguments
        // The stock OpenSSH client is a real peer: a direct-tcpip channel (-W) and a remote forward (-R).
        let direct = try runTool("/usr/bin/ssh", common + ["-W", "127.0.0.1:22", "alice@tandem"], in: fx.dir, timeout: 20)
        XCTAssertNotEqual(direct.status, 0)
        XCTAssertTrue(direct.stderr.contains("open failed") || direct.stderr.contains("prohibited"), direct.stderr)
        let remote = try runTool("/usr/bin/ssh", common + ["-N", "-o", "ExitOnForwardFailure=yes", "-R", "0:127.0.0.1:22", "alice@tandem"],
                                 in: fx.dir, timeout: 20)
        XCTAssertNotEqual(remote.status, 0)
        XCTAssertTrue(remote.stderr.contains("forwarding failed"), remote.stderr)

        // OpenSSH through the broker still runs commands in the session.
        let exec = try runTool("/usr/bin/ssh", common + ["alice@tandem", "exec \(id) -- echo via-openssh"], in: fx.dir, timeout: 20)
        XCTAssertEqual(exec.stdout, "via-openssh\n", exec.stderr)

        let kinds = try fx.eventKinds()
        XCTAssertEqual(kinds.filter { $0 == "port_forward_refused" }.count, 2, "\(kinds)")
        XCTAssertTrue(fx.broker.stderr.contains("refused port forwarding"), fx.broker.stderr)
        XCTAssertTrue(fx.broker.stderr.contains("refused remote port forwarding"), fx.broker.stderr)
    }
}
