import Foundation
import XCTest

/// Acceptance 2: three real processes; exec runs on the agent side and returns its status.
final class SessionExecTests: XCTestCase {
    func testExecRunsOnAgentAndReturnsItsExitStatus() throws {
        let fx = try BrokerFixture(name: "exec")
        defer { fx.stopAll() }
        let (id, agent) = try fx.activeSession()

        let uname = try fx.tandem(["exec", id], after: ["--", "uname", "-a"])
        XCTAssertEqual(uname.status, 0, uname.stderr)
        XCTAssertTrue(uname.stdout.contains(ProcessInfo.processInfo.hostName) || uname.stdout.hasPrefix("Linux"), uname.stdout)
        XCTAssertEqual(uname.stdout, try runTool("/bin/uname", ["-a"], in: fx.dir).stdout)

        let three = try fx.tandem(["exec", id], after: ["--", "sh", "-c", "echo to-stderr >&2; exit 3"])
        XCTAssertEqual(three.status, 3)
        XCTAssertTrue(three.stderr.contains("to-stderr"), three.stderr)

        let piped = try fx.tandem(["exec", id], after: ["--", "tr", "a-z", "A-Z"], stdin: "hello through the broker\n")
        XCTAssertEqual(piped.stdout, "HELLO THROUGH THE BROKER\n")

        XCTAssertTrue(agent.stderr.contains("The technician ran: uname -a"), agent.stderr)
        let kinds = try fx.eventKinds()
        for kind in ["session_requested", "code_issued", "join_accepted", "offered", "approved", "started", "exec", "channel_closed"] {
            XCTAssertTrue(kinds.contains(kind), "missing event \(kind) in \(kinds)")
        }
        let show = try fx.tandem(["ticket", "show", "1"])
        XCTAssertTrue(show.stdout.contains("command=uname -a"), show.stdout)
        XCTAssertTrue(show.stdout.contains("exit_status=3"), show.stdout)
    }

    func testEndingTheSessionStopsTheAgentAndIsRecorded() throws {
        let fx = try BrokerFixture(name: "end")
        defer { fx.stopAll() }
        let (id, agent) = try fx.activeSession()
        let end = try fx.tandem(["session", "end", id])
        XCTAssertEqual(end.status, 0, end.stderr)
        XCTAssertEqual(agent.wait(15), 0, agent.stderr)
        XCTAssertTrue(agent.stderr.contains("ended"), agent.stderr)
        let after = try fx.tandem(["exec", id], after: ["--", "true"])
        XCTAssertEqual(after.status, 1)
        XCTAssertTrue(after.stderr.contains("not active"), after.stderr)
        XCTAssertTrue(try fx.eventKinds().contains("ended"))
    }
}

/// The user's processes must not inherit the agent's sockets, pipes or pollers.
final class DescriptorHygieneTests: XCTestCase {
    func testCommandsSeeOnlyTheirOwnDescriptors() throws {
        let fx = try BrokerFixture(name: "fds")
        defer { fx.stopAll() }
        let (id, _) = try fx.activeSession()
        let r = try fx.tandem(["exec", "-n", id], after: ["--", "ls /proc/self/fd"])
        XCTAssertEqual(r.status, 0, r.stderr)
        // ls itself opens one descriptor to read the directory.
        XCTAssertEqual(r.stdout.split(separator: "\n").sorted(), ["0", "1", "2", "3"], r.stdout)
    }
}

/// Bulk data both ways through exec: back-pressure must neither stall nor drop the tail.
final class BulkRelayTests: XCTestCase {
    func testLargeOutputAndInputArriveWhole() throws {
        let fx = try BrokerFixture(name: "bulk", serveArguments: ["--handshake-timeout", "2"])
        defer { fx.stopAll() }
        let (id, _) = try fx.activeSession()
        let source = fx.dir.appendingPathComponent("source.bin").path
        var data = Data(count: 24 << 20)
        data.withUnsafeMutableBytes { p in
            var rng = SystemRandomNumberGenerator()
            for i in 0..<(p.count / 8) { p.storeBytes(of: rng.next(), toByteOffset: i * 8, as: UInt64.self) }
        }
        try data.write(to: URL(fileURLWithPath: source))

        let out = fx.dir.appendingPathComponent("out.bin").path
        let down = try runTool("/bin/sh", ["-c", "\"$0\" exec \"$1\" --config \"$2\" -- cat \"$3\" > \"$4\"",
                                           Harness.tool("tandem"), id, fx.dir.appendingPathComponent("tandem.conf").path, source, out],
                               in: fx.dir, timeout: 120)
        XCTAssertEqual(down.status, 0, down.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), data, "every byte of a 24 MiB output arrives")

        let copy = fx.dir.appendingPathComponent("copy.bin").path
        let up = try runTool("/bin/sh", ["-c", "\"$0\" exec \"$1\" --config \"$2\" -- \"cat > $3\" < \"$4\"",
                                         Harness.tool("tandem"), id, fx.dir.appendingPathComponent("tandem.conf").path, copy, source],
                             in: fx.dir, timeout: 120)
        XCTAssertEqual(up.status, 0, up.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: copy)), data, "every byte of a 24 MiB input arrives")

        // A logged-in technician is not subject to the 2-second handshake deadline.
        let slow = try fx.tandem(["exec", "-n", id], after: ["--", "sleep 3; echo late"], timeout: 30)
        XCTAssertEqual(slow.stdout, "late\n", slow.stderr)
    }
}

/// Input a process does not read must not freeze the agent for the session's other channels.
final class UnreadInputTests: XCTestCase {
    func testUnreadStdinNeitherBlocksOtherChannelsNorKillsTheSession() throws {
        let fx = try BrokerFixture(name: "unread")
        defer { fx.stopAll() }
        let (id, agent) = try fx.activeSession()
        let input = fx.dir.appendingPathComponent("input.bin")
        try Data(repeating: 0x61, count: 4 << 20).write(to: input)

        let sleeper = try Child(Harness.tool("tandem"), ["exec", id] + fx.cliConfig + ["--", "sleep 3; echo slept"], in: fx.dir,
                                name: "sleeper", stdin: .handle(try FileHandle(forReadingFrom: input)))
        Thread.sleep(forTimeInterval: 0.5)
        let started = Date()
        let other = try fx.tandem(["exec", "-n", id], after: ["--", "echo", "meanwhile"])
        XCTAssertEqual(other.stdout, "meanwhile\n", other.stderr)
        XCTAssertEqual(sleeper.wait(30), 0, sleeper.stderr)
        XCTAssertEqual(sleeper.stdout, "slept\n")
        XCTAssertTrue(other.status == 0 && Date().timeIntervalSince(started) < 30)

        // A process that closes its stdin early while input keeps coming: the rest is dropped,
        // and the session survives (libssh must not widen the window of a closed channel).
        for _ in 0..<3 {
            let early = try runTool("/bin/sh", ["-c", "\"$0\" exec \"$1\" --config \"$2\" -- 'head -c 100 >/dev/null; echo took' < \"$3\"",
                                                Harness.tool("tandem"), id, fx.dir.appendingPathComponent("tandem.conf").path, input.path],
                                    in: fx.dir, timeout: 30)
            XCTAssertEqual(early.stdout, "took\n", early.stderr)
        }
        XCTAssertTrue(agent.process.isRunning, agent.stderr)
        XCTAssertEqual(try fx.tandem(["exec", "-n", id], after: ["--", "echo", "alive"]).stdout, "alive\n")
    }

    /// Many commands at once in one session, finishing together: the agent runs them all and
    /// stays up (its poll loop once freed a descriptor's entry while libssh still walked the list,
    /// and crashed when three commands ended in the same turn).
    func testManyCommandsAtOnceInOneSessionAllRunAndTheAgentStays() throws {
        let fx = try BrokerFixture(name: "exec-many")
        defer { fx.stopAll() }
        let (id, agent) = try fx.activeSession()
        for round in 1...3 {
            let runs = try (0..<16).map { n in
                try Child(Harness.tool("tandem"), ["exec", "-n", id] + fx.cliConfig + ["--", "seq 1 \(500 * (n % 4 + 1)) | tail -1; echo r\(round)-\(n) >&2"],
                          in: fx.dir, name: "many-\(round)-\(n)")
            }
            for (n, run) in runs.enumerated() {
                XCTAssertEqual(run.wait(60), 0, "round \(round), command \(n): \(run.stderr) \(agent.stderr.suffix(2000))")
                XCTAssertEqual(run.stdout, "\(500 * (n % 4 + 1))\n")
                XCTAssertTrue(run.stderr.contains("r\(round)-\(n)"), run.stderr)
            }
            XCTAssertTrue(agent.process.isRunning, "round \(round): \(agent.stderr.suffix(3000))")
        }
        XCTAssertEqual(try fx.tandem(["exec", "-n", id], after: ["--", "echo", "alive"]).stdout, "alive\n")
    }
}
