import Foundation
import Glibc
import XCTest

/// Several brokers on one PostgreSQL database (issue 16): real `tandemd` replicas, each with its
/// own data folder and the shared broker keys, on one fresh database of the run's server.
final class ReplicaTests: XCTestCase {
    /// Acceptance 6: a peer connection without a valid replica certificate is refused and logged.
    func testAPeerWithoutAValidReplicaCertificateIsRefusedAndLogged() throws {
        let fx = try ReplicaFixture(name: "peer-certs", replicas: ["a"])
        defer { fx.stopAll() }
        try fx.makeCertificates(in: "stranger", names: ["x"])
        let port = try XCTUnwrap(fx.peerPorts["a"])
        let peer = fx.dir.appendingPathComponent("peer").path
        let stranger = fx.dir.appendingPathComponent("stranger").path
        func probe(_ words: [String]) throws -> String {
            try runTool("/usr/bin/python3", [fx.probe, "\(port)", "\(peer)/peer-ca.crt"] + words, in: fx.dir).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let noCertificate = try probe([])
        let otherCA = try probe(["\(stranger)/x.crt", "\(stranger)/x.key"])
        let otherProtocol = try probe(["\(peer)/b.crt", "\(peer)/b.key", "--alpn", "tandem-agent/1"])
        let replica = try probe(["\(peer)/b.crt", "\(peer)/b.key"])
        // Refused by the broker, not for want of a listener (the log lines below say who refused).
        for answer in [noCertificate, otherCA, otherProtocol] { XCTAssertFalse(answer.contains("Connection refused"), answer) }
        XCTAssertTrue(noCertificate.hasPrefix("refused") || noCertificate == "closed", noCertificate)
        XCTAssertTrue(otherCA.hasPrefix("refused") || otherCA == "closed", otherCA)
        XCTAssertTrue(otherProtocol.hasPrefix("refused") || otherProtocol == "closed", otherProtocol)
        XCTAssertTrue(replica.hasPrefix("banner SSH-2.0-"), "a replica's certificate gets SSH: \(replica)")
        let log = try XCTUnwrap(fx.brokers["a"]).stderr
        let refusals = log.components(separatedBy: "\n").filter { $0.contains("refused a peer connection from 127.0.0.1:") }
        XCTAssertEqual(refusals.filter { $0.contains("no valid replica certificate") }.count, 2, log)
        XCTAssertEqual(refusals.filter { $0.contains("does not speak tandem-peer/1") }.count, 1, log)
        XCTAssertEqual(refusals.count, 3, "the replica's own knock is not refused: \(log)")
        // The technicians' and agents' port is not a way in for peers (it takes the knock for HTTP and waits).
        let mainPort = try XCTUnwrap(fx.ports["a"])
        let onMain = try runTool("/usr/bin/python3", [fx.probe, "\(mainPort)", fx.dir.appendingPathComponent("certs/ca.crt").path,
                                                     "\(peer)/b.crt", "\(peer)/b.key", "--timeout", "2"], in: fx.dir).stdout
        XCTAssertFalse(onMain.contains("SSH-2.0-"), onMain)
    }

    /// Step 2 of issue 16: a technician on replica B runs a command in a session that replica A
    /// holds (its agent is on A); A records it once, B passes it on.
    func testAnExecOnOneReplicaRunsInASessionTheOtherHolds() throws {
        let fx = try ReplicaFixture(name: "forward-exec", replicas: ["a", "b"])
        defer { fx.stopAll() }
        let ticket = try fx.tandem(on: "a", ["ticket", "new", "Printer offline", "--requester", "jane"])
        XCTAssertEqual(ticket.status, 0, ticket.stderr)
        let (request, code, id) = try fx.requestSession(on: "a", ticket: 1)
        _ = try fx.agent(on: "a", code: code, answer: "y")
        XCTAssertEqual(request.wait(20), 0, request.stdout + request.stderr)

        let run = try fx.tandem(on: "b", ["exec", id], after: ["--", "sh", "-c", "echo forwarded-$((6*7)); echo on-stderr >&2; exit 7"])
        XCTAssertEqual(run.status, 7, run.stderr)
        XCTAssertEqual(run.stdout, "forwarded-42\n")
        XCTAssertTrue(run.stderr.contains("on-stderr"), run.stderr)
        XCTAssertTrue(try XCTUnwrap(fx.brokers["b"]).stderr.contains("passed a command in session \(id)"))
        // Recorded once, by the replica holding the session, as alice's.
        let execs = try fx.sql("SELECT actor FROM events WHERE session_id = '\(id)' AND kind = 'exec'")
        XCTAssertEqual(execs, "alice\n")
        // The recording is on A's disk: A verifies the whole chain with it.
        let verify = try fx.tandem(on: "a", ["audit", "verify", "--ticket", "1"])
        XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)

        // A session nobody holds elsewhere is answered by B itself, as before.
        let unknown = try fx.tandem(on: "b", ["exec", "s-00000000"], after: ["--", "true"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertFalse(unknown.stderr.contains("replica"), unknown.stderr)

        // A stops: its session ends, and B answers at once, as for any session that is not live.
        try fx.terminate("a")
        let after = try fx.tandem(on: "b", ["exec", id], after: ["--", "true"])
        XCTAssertNotEqual(after.status, 0)
        XCTAssertTrue(after.stderr.contains(id) && !after.stderr.contains("replica"), after.stderr)
    }

    /// Acceptance 1, with exec: `session new` waits on B, the agent approves on A, which takes the
    /// session over; B's technician learns it at once and their command runs through A.
    func testASessionAskedForOnOneReplicaIsApprovedOnTheOther() throws {
        let fx = try ReplicaFixture(name: "handoff", replicas: ["a", "b"])
        defer { fx.stopAll() }
        XCTAssertEqual(try fx.tandem(on: "b", ["ticket", "new", "VPN down", "--requester", "jane"]).status, 0)
        let (request, code, id) = try fx.requestSession(on: "b", ticket: 1)
        let agent = try fx.agent(on: "a", code: code, answer: "y")
        XCTAssertEqual(request.wait(20), 0, request.stdout + request.stderr)
        XCTAssertTrue(request.stdout.contains("approved"), request.stdout)
        // A holds it now: its owner in the database, and B's log says it went.
        let a = try fx.replicaID("a")
        XCTAssertEqual(try fx.sql("SELECT owner_replica FROM sessions WHERE id = '\(id)'"), "\(a)\n")
        XCTAssertTrue(Harness.waitUntil(5) { fx.brokers["b"]?.stderr.contains("session \(id) went to another replica") == true })

        let run = try fx.tandem(on: "b", ["exec", id], after: ["--", "sh", "-c", "echo handed-$((6*7)); exit 5"])
        XCTAssertEqual(run.status, 5, run.stderr)
        XCTAssertEqual(run.stdout, "handed-42\n")
        // The code was spent on A: the same code on B is no way in.
        let again = try fx.agent(on: "b", code: code, answer: "y")
        XCTAssertNotEqual(again.wait(20), 0)
        XCTAssertTrue(again.stderr.contains("already used") || again.stdout.contains("already used"), again.stdout + again.stderr)

        // A shell through B: typed on B, run and recorded on A, resized across both.
        let term = try PseudoTerminal(Harness.tool("tandem"), ["shell", id, "--config", fx.dir.appendingPathComponent("b.conf").path],
                                      in: fx.dir, rows: 24, columns: 80)
        defer { term.stop() }
        XCTAssertNotNil(term.waitForMatch("[$#] "), "no prompt: \(term.text)")
        term.type("echo across-$((7*6))\r")
        XCTAssertTrue(term.waitFor("across-42"), term.text)
        term.resize(rows: 50, columns: 132)
        // The resize travels beside the typing, not in line with it: ask until it has arrived.
        var resized = false
        for _ in 0..<20 where !resized {
            term.type("stty size\r")
            resized = term.waitFor("50 132", seconds: 1)
        }
        XCTAssertTrue(resized, term.text)
        term.type("exit 7\r")
        XCTAssertTrue(Harness.waitUntil(15) { !term.process.isRunning })
        XCTAssertEqual(term.process.terminationStatus, 7)
        // Recorded once, on A: B keeps no recording of a session it only passed on.
        let recordings = { (replica: String) in
            ((try? FileManager.default.contentsOfDirectory(atPath: fx.dir.appendingPathComponent("data-\(replica)/recordings").path)) ?? [])
                .filter { $0.hasSuffix(".cast") }
        }
        XCTAssertTrue(Harness.waitUntil(10) { recordings("a").count == 2 }, "the command's and the shell's: \(recordings("a"))")
        XCTAssertEqual(recordings("b"), [])
        let casts = try recordings("a").map { try String(contentsOf: fx.dir.appendingPathComponent("data-a/recordings/\($0)"), encoding: .utf8) }
        XCTAssertEqual(casts.filter { $0.contains("echo across-") }.count, 1)

        XCTAssertEqual(try fx.tandem(on: "b", ["session", "end", id]).status, 0)
        XCTAssertEqual(agent.wait(20), 0, agent.stderr)
        let kinds = try fx.sql("SELECT kind FROM events WHERE session_id = '\(id)' ORDER BY id").split(separator: "\n").map(String.init)
        XCTAssertEqual(kinds.filter { $0 == "exec" }.count, 1, "\(kinds)")
        XCTAssertEqual(kinds.filter { $0 == "shell_started" }.count, 1, "\(kinds)")
        XCTAssertFalse(kinds.contains("code_expired"), "\(kinds)")
        for kind in ["session_requested", "code_issued", "offered", "approved", "started", "ended"] {
            XCTAssertTrue(kinds.contains(kind), "\(kind) in \(kinds)")
        }
        XCTAssertEqual(try fx.sql("SELECT state FROM sessions WHERE id = '\(id)'"), "ended\n")
        let verify = try fx.tandem(on: "a", ["audit", "verify", "--ticket", "1"])
        XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
    }

    /// A technician's shell passed from B to A (which holds the agent): their connection to B drops,
    /// A keeps the shell running, and the CLI takes it up again through B, with the whole output once.
    func testAShellHeldByAnotherReplicaIsTakenUpAfterTheTechniciansConnectionDrops() throws {
        let fx = try ReplicaFixture(name: "replica-resume", replicas: ["a", "b"])
        defer { fx.stopAll() }
        XCTAssertEqual(try fx.tandem(on: "b", ["ticket", "new", "Flaky Wi-Fi", "--requester", "jane"]).status, 0)
        let x = try fx.activeSession(ticket: 1, technicianOn: "b", agentOn: "a")
        // A proxy between the technician and B that cuts every connection on SIGUSR1.
        let (proxy, _) = try fx.startDroppingProxy(to: ["b"], config: "bp")
        let shell = try PseudoTerminal(Harness.tool("tandem"), ["shell", x.id, "--config", fx.dir.appendingPathComponent("bp.conf").path],
                                       in: fx.dir, rows: 24, columns: 80)
        defer { shell.stop() }
        XCTAssertNotNil(shell.waitForMatch("[$#] "), shell.text)
        shell.type("for i in $(seq 1 300); do echo line-$i; sleep 0.01; done; echo done-$((6*7))\r")
        XCTAssertTrue(shell.waitFor("line-40\r\n"), shell.text)
        kill(proxy.process.processIdentifier, SIGUSR1)
        XCTAssertTrue(shell.waitFor("the connection to the broker dropped; reconnecting"), shell.text)
        XCTAssertTrue(shell.waitFor("back in the shell", seconds: 30), shell.text)
        XCTAssertTrue(shell.waitFor("done-42", seconds: 30), shell.text)
        let lines = shell.text.components(separatedBy: "\r\n").compactMap { line -> Int? in
            guard let r = line.range(of: "line-") else { return nil }
            return Int(line[r.upperBound...].prefix { $0.isNumber })
        }.filter { $0 > 0 }
        XCTAssertEqual(lines, Array(1...300), "the output as the technician got it")
        shell.type("echo after-$((2*4))\r")
        XCTAssertTrue(shell.waitFor("after-8"), shell.text)
        let kinds = try fx.sql("SELECT kind FROM events WHERE session_id = '\(x.id)' ORDER BY id").split(separator: "\n").map(String.init)
        let dropped = try XCTUnwrap(kinds.firstIndex(of: "technician_disconnected"), "\(kinds)")
        let resumed = try XCTUnwrap(kinds.firstIndex(of: "technician_resumed"), "\(kinds)")
        XCTAssertLessThan(dropped, resumed)
        XCTAssertEqual(kinds.filter { $0 == "shell_started" }.count, 1, "one shell, taken up on A: \(kinds)")
        // Both the shell and its taking up went from B to A.
        XCTAssertEqual(try XCTUnwrap(fx.brokers["b"]).stderr.components(separatedBy: "passed a command in session \(x.id)").count - 1, 2)
    }

    /// The agent's connection drops and the balancer sends it back to the other replica: that one
    /// passes it on to the replica holding the session, which takes it back as its own. The output
    /// arrives whole, the session goes on, and it goes on through further drops either way.
    func testAnAgentThatComesBackToAnotherReplicaIsPassedOnToTheOneHoldingItsSession() throws {
        let fx = try ReplicaFixture(name: "agent-elsewhere", replicas: ["a", "b"])
        defer { fx.stopAll() }
        XCTAssertEqual(try fx.tandem(on: "b", ["ticket", "new", "Roaming laptop", "--requester", "jane"]).status, 0)
        // The agent's way in: a proxy that, at each cut, sends new connections to the other replica.
        let (proxy, proxyPort) = try fx.startDroppingProxy(to: ["a", "b"])
        func cut(_ n: Int, to replica: String) {
            kill(proxy.process.processIdentifier, SIGUSR1)
            XCTAssertTrue(Harness.waitUntil(10) { proxy.stdout.components(separatedBy: "now ").count > n }, proxy.stdout)
            XCTAssertTrue(proxy.stdout.hasSuffix("now \(fx.ports[replica] ?? 0)\n"), proxy.stdout)
        }

        let (request, code, id) = try fx.requestSession(on: "b", ticket: 1)
        let agent = try Child(Harness.tool("tandem-agent"), [code, "--broker", "127.0.0.1:\(proxyPort)", "--ca", "certs/ca.crt"],
                              in: fx.dir, name: "agent", stdin: .pipe)
        fx.adopt(agent)
        agent.send("y\n")
        XCTAssertEqual(request.wait(20), 0, request.stdout + request.stderr)
        let owner = try fx.replicaID("a")
        XCTAssertEqual(try fx.sql("SELECT owner_replica FROM sessions WHERE id = '\(id)'"), owner + "\n", "A holds the agent, so the session")
        let shell = try fx.shell(id, on: "b")
        defer { shell.stop() }

        // Away from A, back through B.
        shell.type("for i in $(seq 1 300); do echo line-$i; sleep 0.01; done; echo done-$((6*7))\r")
        XCTAssertTrue(shell.waitFor("line-40\r\n"), shell.text)
        cut(1, to: "b")
        XCTAssertTrue(Harness.waitUntil(20) { agent.stderr.components(separatedBy: "Reconnected to the support service").count == 2 }, agent.stderr)
        XCTAssertTrue(shell.waitFor("done-42", seconds: 30), shell.text)
        let lines = shell.text.components(separatedBy: "\r\n").compactMap { line -> Int? in
            guard let r = line.range(of: "line-") else { return nil }
            return Int(line[r.upperBound...].prefix { $0.isNumber })
        }.filter { $0 > 0 }
        XCTAssertEqual(lines, Array(1...300), "the output as the technician got it")
        XCTAssertTrue(try XCTUnwrap(fx.brokers["b"]).stderr.contains("its agent came back here; passed on to the replica that holds it"))
        XCTAssertTrue(try XCTUnwrap(fx.brokers["a"]).stderr.contains("passes on a returning agent"))
        XCTAssertEqual(try fx.sql("SELECT owner_replica FROM sessions WHERE id = '\(id)'"), owner + "\n", "still A's")
        shell.type("echo via-b-$((3*3))\r")
        XCTAssertTrue(shell.waitFor("via-b-9"), shell.text)

        // A drop of the passed-on connection is a drop too (not a goodbye): back to A directly, then to B again.
        cut(2, to: "a")
        XCTAssertTrue(Harness.waitUntil(20) { agent.stderr.components(separatedBy: "Reconnected to the support service").count == 3 }, agent.stderr)
        shell.type("echo direct-$((4*4))\r")
        XCTAssertTrue(shell.waitFor("direct-16", seconds: 20), shell.text)
        cut(3, to: "b")
        XCTAssertTrue(Harness.waitUntil(20) { agent.stderr.components(separatedBy: "Reconnected to the support service").count == 4 }, agent.stderr)
        shell.type("echo again-$((5*5))\r")
        XCTAssertTrue(shell.waitFor("again-25", seconds: 20), shell.text)

        let kinds = try fx.sql("SELECT kind FROM events WHERE session_id = '\(id)' ORDER BY id").split(separator: "\n").map(String.init)
        XCTAssertEqual(kinds.filter { $0 == "agent_disconnected" }.count, 3, "\(kinds)")
        XCTAssertEqual(kinds.filter { $0 == "agent_resumed" }.count, 3, "\(kinds)")
        XCTAssertFalse(kinds.contains("ended"), "\(kinds)")
        // A stranger's way back through B, with SSH bytes sent before any answer: passed on, A
        // refuses the token, the refusal comes back through B, and both replicas stay up.
        let hostile = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Support/hostile_client.py").path
        let stranger = try runTool("/usr/bin/python3", [hostile, "\(fx.ports["b"] ?? 0)", "certs/ca.crt", "tandem-agent/1", "resume-early", id,
                                                        String(repeating: "a", count: 64)], in: fx.dir, timeout: 30)
        XCTAssertTrue(stranger.stdout.hasPrefix("resumeRefused "), stranger.stdout + stranger.stderr)
        XCTAssertTrue(fx.brokers["a"]?.process.isRunning == true && fx.brokers["b"]?.process.isRunning == true)
        shell.type("echo still-$((6*6))\r")
        XCTAssertTrue(shell.waitFor("still-36", seconds: 20), shell.text)
        // The end reaches the agent through B, and the session ends once, on A.
        XCTAssertEqual(try fx.tandem(on: "b", ["session", "end", id]).status, 0)
        XCTAssertEqual(agent.wait(20), 0, agent.stderr)
        XCTAssertTrue(agent.stderr.contains("ended by technician"), agent.stderr)
        let after = try fx.sql("SELECT kind FROM events WHERE session_id = '\(id)' ORDER BY id").split(separator: "\n").map(String.init)
        XCTAssertEqual(after.filter { $0 == "ended" }.count, 1, "\(after)")
        // On A, which holds the recordings (this test shares no recordings folder).
        let verify = try fx.tandem(on: "a", ["audit", "verify", "--ticket", "1"])
        XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
    }

    /// The replica a technician's shell went through dies: their client comes back through the
    /// balancer to the replica holding the session, and takes the shell up where it was. The
    /// session did not touch the dead replica's ownership, so it goes on when that one is declared lost.
    func testATechniciansReplicaKilledMidShellTheShellIsTakenUpOnAnother() throws {
        let fx = try ReplicaFixture(name: "tech-replica-lost", replicas: ["a", "b"], extra: ["--replica-timeout", "3"])
        defer { fx.stopAll() }
        XCTAssertEqual(try fx.tandem(on: "a", ["ticket", "new", "Shell survives", "--requester", "jane"]).status, 0)
        let x = try fx.activeSession(ticket: 1, technicianOn: "a", agentOn: "a")
        // The technician's way in: to B first; after a cut, to A.
        let (proxy, _) = try fx.startDroppingProxy(to: ["b", "a"], config: "lbp")
        let shell = try PseudoTerminal(Harness.tool("tandem"), ["shell", x.id, "--config", fx.dir.appendingPathComponent("lbp.conf").path],
                                       in: fx.dir, rows: 24, columns: 80)
        defer { shell.stop() }
        XCTAssertNotNil(shell.waitForMatch("[$#] "), shell.text)
        XCTAssertTrue(try XCTUnwrap(fx.brokers["b"]).stderr.contains("passed a command in session \(x.id)"), "the shell went through B")

        shell.type("for i in $(seq 1 300); do echo line-$i; sleep 0.01; done; echo done-$((6*7))\r")
        XCTAssertTrue(shell.waitFor("line-40\r\n"), shell.text)
        try fx.kill("b")
        kill(proxy.process.processIdentifier, SIGUSR1)
        XCTAssertTrue(Harness.waitUntil(10) { proxy.stdout.contains("now \(fx.ports["a"] ?? 0)") }, proxy.stdout)
        XCTAssertTrue(shell.waitFor("back in the shell", seconds: 40), shell.text)
        XCTAssertTrue(shell.waitFor("done-42", seconds: 30), shell.text)
        let lines = shell.text.components(separatedBy: "\r\n").compactMap { line -> Int? in
            guard let r = line.range(of: "line-") else { return nil }
            return Int(line[r.upperBound...].prefix { $0.isNumber })
        }.filter { $0 > 0 }
        XCTAssertEqual(lines, Array(1...300), "the output as the technician got it")
        // B is declared lost; the session, A's, goes on.
        let bID = try fx.replicaID("b")
        XCTAssertTrue(Harness.waitUntil(20) { (try? fx.sql("SELECT state FROM replicas WHERE id = '\(bID)'")) == "lost\n" })
        shell.type("echo after-$((2*4))\r")
        XCTAssertTrue(shell.waitFor("after-8"), shell.text)
        XCTAssertEqual(try fx.sql("SELECT state FROM sessions WHERE id = '\(x.id)'"), "active\n")
        let kinds = try fx.sql("SELECT kind FROM events WHERE session_id = '\(x.id)' ORDER BY id").split(separator: "\n").map(String.init)
        XCTAssertEqual(kinds.filter { $0 == "shell_started" }.count, 1, "one shell, taken up on A: \(kinds)")
        XCTAssertEqual(kinds.filter { $0 == "technician_resumed" }.count, 1, "\(kinds)")
        XCTAssertFalse(kinds.contains("ended"), "\(kinds)")
    }

    /// One code brought to two replicas at once: the database gives the offer to exactly one agent;
    /// the other is told the code was used. Several rounds, so either replica may win.
    func testOneCodeAtTwoReplicasAtOnceGivesOneOffer() throws {
        let fx = try ReplicaFixture(name: "code-race", replicas: ["a", "b"])
        defer { fx.stopAll() }
        for round in 1...4 {
            XCTAssertEqual(try fx.tandem(on: "a", ["ticket", "new", "Race \(round)", "--requester", "jane"]).status, 0)
            let (request, code, id) = try fx.requestSession(on: "a", ticket: round)
            let first = try fx.agent(on: "a", code: code, answer: "y")
            let second = try fx.agent(on: "b", code: code, answer: "y")
            XCTAssertEqual(request.wait(20), 0, request.stdout + request.stderr)
            // The loser is told at once; the winner's agent stays with its session.
            XCTAssertTrue(Harness.waitUntil(20) { !first.process.isRunning || !second.process.isRunning })
            let (loser, winner) = first.process.isRunning ? (second, first) : (first, second)
            XCTAssertTrue(winner.process.isRunning, "round \(round): both agents left")
            XCTAssertNotEqual(loser.wait(5), 0)
            XCTAssertTrue((loser.stdout + loser.stderr).contains("already used"), loser.stdout + loser.stderr)
            let kinds = try fx.sql("SELECT kind FROM events WHERE session_id = '\(id)' ORDER BY id").split(separator: "\n")
            XCTAssertEqual(kinds.filter { $0 == "offered" }.count, 1, "round \(round): \(kinds)")
            XCTAssertEqual(kinds.filter { $0 == "approved" }.count, 1, "round \(round): \(kinds)")
            let run = try fx.tandem(on: "a", ["exec", id], after: ["--", "echo", "round-\(round)"])
            XCTAssertEqual(run.stdout, "round-\(round)\n", run.stderr)
            XCTAssertEqual(try fx.tandem(on: "a", ["session", "end", id]).status, 0)
        }
    }

    /// The HTTP API on one replica ends a session another replica holds: the ask goes through the
    /// database, the owner ends it (one `ended` event, by the asker), and the answer waits for it.
    func testTheAPIOnOneReplicaEndsASessionTheOtherHolds() throws {
        let fx = try ReplicaFixture(name: "api-end", replicas: ["a", "b"])
        defer { fx.stopAll() }
        XCTAssertEqual(try fx.tandem(on: "b", ["ticket", "new", "Ended from afar", "--requester", "jane"]).status, 0)
        let x = try fx.activeSession(ticket: 1, technicianOn: "b", agentOn: "a")
        // A command through B dials the peer link to A, which has TCP keepalive on both ends (a
        // replica that vanishes without a reset is noticed).
        XCTAssertEqual(try fx.tandem(on: "b", ["exec", x.id], after: ["--", "echo", "linked"]).stdout, "linked\n")
        // (Once the link is idle: while data is unacknowledged, ss shows the retransmit timer instead.)
        var sockets = ""
        XCTAssertTrue(Harness.waitUntil(10) {
            sockets = (try? runTool("/usr/bin/ss", ["-tnoH", "state", "established",
                                                    "( sport = :\(fx.peerPorts["a"] ?? 0) or dport = :\(fx.peerPorts["a"] ?? 0) )"], in: fx.dir))?.stdout ?? ""
            let lines = sockets.split(separator: "\n")
            return lines.count == 2 && lines.allSatisfy { $0.contains("timer:(keepalive") }
        }, sockets)
        let made = try fx.tandem(on: "b", ["token", "new"])
        XCTAssertEqual(made.status, 0, made.stderr)
        let token = made.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        func end(_ id: String) throws -> String {
            let r = try runTool("/usr/bin/curl", ["-sS", "--cacert", fx.dir.appendingPathComponent("certs/ca.crt").path, "-X", "POST",
                                                  "-H", "Authorization: Bearer \(token)", "-w", "\n%{http_code}",
                                                  "https://127.0.0.1:\(fx.ports["b"] ?? 0)/v1/sessions/\(id)/end"], in: fx.dir, timeout: 30)
            XCTAssertEqual(r.status, 0, r.stderr)
            return r.stdout
        }
        let answer = try end(x.id)
        XCTAssertTrue(answer.hasSuffix("\n200"), answer)
        XCTAssertTrue(answer.contains(#""already_over":false"#) && answer.contains("ended by technician"), answer)
        // Ended by its owner, as asked, once: the agent is let go and the ask is gone.
        XCTAssertEqual(try fx.sql("SELECT state || ' ' || end_reason || ' ' || (owner_replica = '\(try fx.replicaID("a"))') FROM sessions WHERE id = '\(x.id)'"),
                       "ended ended by technician true\n")
        XCTAssertEqual(try fx.sql("SELECT actor FROM events WHERE session_id = '\(x.id)' AND kind = 'ended'"), "alice\n")
        XCTAssertEqual(try fx.sql("SELECT count(*) FROM end_requests"), "0\n")
        XCTAssertNotNil(x.agent.wait(15), "the agent is let go")
        XCTAssertTrue(fx.brokers["a"]?.stderr.contains("ended as asked on another replica by alice") ?? false, fx.brokers["a"]?.stderr ?? "")
        // Again: over now, and said so.
        let again = try end(x.id)
        XCTAssertTrue(again.contains(#""already_over":true"#), again)
        // On A, which holds the command's recording (this test shares no recordings folder).
        let verify = try fx.tandem(on: "a", ["audit", "verify", "--ticket", "1"])
        XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
    }

    /// Wrong codes are counted for all replicas together: a guesser spread over two replicas gets
    /// no more tries than on one, while right codes from one address at once all get through.
    func testWrongCodesSpreadOverReplicasShareOneLimit() throws {
        let fx = try ReplicaFixture(name: "guesses", replicas: ["a", "b"], extra: ["--guess-limit", "3", "--guess-window", "120"])
        defer { fx.stopAll() }
        // Four right codes at once from one address, over the limit of three: they take turns, none is refused.
        var requests: [(child: Child, code: String, id: String)] = []
        for n in 1...4 {
            let on = n % 2 == 0 ? "a" : "b"
            XCTAssertEqual(try fx.tandem(on: on, ["ticket", "new", "Many \(n)", "--requester", "jane"]).status, 0)
            requests.append(try fx.requestSession(on: on, ticket: n))
        }
        let agents = try requests.enumerated().map { n, r in try fx.agent(on: n % 2 == 0 ? "a" : "b", code: r.code, answer: "y") }
        for (n, r) in requests.enumerated() {
            XCTAssertEqual(r.child.wait(30), 0, "session \(n + 1): \(r.child.stdout) \(r.child.stderr) \(agents[n].stderr)")
        }
        XCTAssertEqual(try fx.sql("SELECT count(*) FROM wrong_guesses"), "0\n", "right codes leave nothing counted")

        XCTAssertEqual(try fx.tandem(on: "a", ["ticket", "new", "Guessed", "--requester", "kim"]).status, 0)
        let target = try fx.requestSession(on: "a", ticket: 5)
        for (guess, on) in [("111111111", "a"), ("222222222", "b"), ("333333333", "a")] {
            let wrong = try fx.agent(on: on, code: guess, answer: "y")
            XCTAssertEqual(wrong.wait(15), 2)
            XCTAssertTrue(wrong.stderr.contains("not valid"), "\(on): \(wrong.stderr)")
        }
        // Three wrong in all, on two replicas: the right code is refused on either.
        for on in ["b", "a"] {
            let blocked = try fx.agent(on: on, code: target.code, answer: "y")
            XCTAssertEqual(blocked.wait(15), 2)
            XCTAssertTrue(blocked.stderr.contains("Too many wrong codes"), "\(on): \(blocked.stderr)")
        }
        XCTAssertTrue(target.child.process.isRunning, "the session still waits for its agent")
        XCTAssertEqual(try fx.sql("SELECT count(*) FROM wrong_guesses WHERE settled"), "3\n")
        XCTAssertTrue(fx.brokers["b"]?.stderr.contains("too many wrong codes") ?? false, fx.brokers["b"]?.stderr ?? "")
        let refusals = try fx.sql("SELECT count(*) FROM events WHERE kind = 'join_refused' AND data LIKE '%rate_limited%'")
        XCTAssertEqual(refusals, "2\n", "one refusal on record per replica's block")
        for agent in agents { agent.stop() }
    }

    /// Acceptance 4: SIGKILL of the replica holding a session's agent ends that session with
    /// "broker replica lost", written by the survivor within the timeout; a session wholly on the
    /// survivor keeps echoing, and a new one works.
    func testAKilledReplicasSessionsEndWithAReasonAndTheOthersGoOn() throws {
        let timeout = 3.0
        let shared = try Harness.scratch("shared-recordings")
        let fx = try ReplicaFixture(name: "replica-lost", replicas: ["a", "b"],
                                    extra: ["--replica-timeout", "\(Int(timeout))", "--recordings", shared.path,
                                            "--metrics-listen", "127.0.0.1:0", "--proxy-from", "127.0.0.2"])
        // haproxy reaches the replicas from 127.0.0.2; the sessions below are placed by hand, from 127.0.0.1.
        let lb = try fx.startHAProxy(source: "127.0.0.2")
        defer { fx.stopAll() }
        for title in ["On A", "On B", "Later"] {
            XCTAssertEqual(try fx.tandem(on: "b", ["ticket", "new", title, "--requester", "jane"]).status, 0)
        }
        let x = try fx.activeSession(ticket: 1, technicianOn: "b", agentOn: "a")
        let y = try fx.activeSession(ticket: 2, technicianOn: "b", agentOn: "b")
        let xShell = try fx.shell(x.id, on: "b")
        defer { xShell.stop() }
        let yShell = try fx.shell(y.id, on: "b")
        defer { yShell.stop() }
        // What A recorded before it died is kept: typed, echoed, and on A's disk before the kill.
        xShell.type("echo before-$((6*7))\r")
        XCTAssertTrue(xShell.waitFor("before-42"), xShell.text)
        let parts = { (try? FileManager.default.contentsOfDirectory(atPath: shared.path))?.filter { $0.hasPrefix("parts-") } ?? [] }
        func partFiles() -> [String: String] {
            var found: [String: String] = [:]
            for folder in parts() {
                for name in (try? FileManager.default.contentsOfDirectory(atPath: shared.path + "/" + folder)) ?? [] {
                    found[folder + "/" + name] = (try? String(contentsOfFile: shared.path + "/" + folder + "/" + name, encoding: .utf8)) ?? ""
                }
            }
            return found
        }
        XCTAssertTrue(Harness.waitUntil(10) { partFiles().contains { $0.key.contains(x.id) && $0.value.contains("before-42") } }, "\(partFiles().keys)")
        let xPart = try XCTUnwrap(partFiles().first { $0.key.contains(x.id) }?.key)

        let killed = Date()
        try fx.kill("a")
        yShell.type("echo during-$((2*21))\r")
        XCTAssertTrue(yShell.waitFor("during-42"), yShell.text)
        // The technician whose session A held is told, at once (the peer link closed).
        XCTAssertTrue(Harness.waitUntil(10) { !xShell.process.isRunning }, xShell.text)
        XCTAssertTrue(xShell.text.contains("the broker replica that holds this session closed this channel (or is gone)"), xShell.text)

        var reason = ""
        XCTAssertTrue(Harness.waitUntil(timeout + 10) {
            reason = (try? fx.sql("SELECT state || ' ' || COALESCE(end_reason, '') FROM sessions WHERE id = '\(x.id)'")) ?? ""
            return reason.hasPrefix("ended")
        }, reason)
        let took = Date().timeIntervalSince(killed)
        XCTAssertEqual(reason, "ended broker replica lost\n")
        // No heartbeat for the timeout, then the next sweep (every timeout/3 s), with slack for a busy machine.
        XCTAssertLessThan(took, timeout + timeout / 3 + 3, "ended \(took) s after the kill")
        print("replica-lost: session ended \(String(format: "%.1f", took)) s after SIGKILL (replica-timeout \(timeout) s)")
        let ended = try fx.sql("SELECT data FROM events WHERE session_id = '\(x.id)' AND kind = 'ended'")
        XCTAssertEqual(ended.split(separator: "\n").count, 1, "one end, written once: \(ended)")
        XCTAssertTrue(ended.contains("broker replica lost"), ended)
        XCTAssertEqual(try fx.sql("SELECT state FROM replicas WHERE id = '\(try fx.replicaID("a"))'"), "lost\n")
        XCTAssertTrue(try XCTUnwrap(fx.brokers["b"]).stderr.contains("declared lost"))

        yShell.type("echo after-$((3*14))\r")
        XCTAssertTrue(yShell.waitFor("after-42"), yShell.text)
        XCTAssertEqual(try fx.sql("SELECT state FROM sessions WHERE id = '\(y.id)'"), "active\n")
        // A new session through haproxy: its health checks took a out of the rotation.
        let z = try fx.activeSession(ticket: 3, technicianOn: lb, agentOn: lb)
        let run = try fx.tandem(on: lb, ["exec", z.id], after: ["--", "echo", "new-session"])
        XCTAssertEqual(run.stdout, "new-session\n", run.stderr)
        // The survivor finishes A's unfinished recording once A has surely stopped writing (another
        // timeout): named by its hash in the shared folder and put on x's ticket; y's, live on B, is left alone.
        var recovered = ""
        XCTAssertTrue(Harness.waitUntil(timeout * 2 + 10) {
            recovered = (try? fx.sql("SELECT data FROM events WHERE session_id = '\(x.id)' AND kind = 'recording_recovered'")) ?? ""
            return !recovered.isEmpty
        }, fx.brokers["b"]?.stderr ?? "")
        XCTAssertTrue(recovered.contains("the broker replica that wrote it was lost"), recovered)
        let sha = try XCTUnwrap(recovered.components(separatedBy: "\"recording_sha256\":\"").dropFirst().first?.prefix(64))
        let cast = try String(contentsOfFile: shared.path + "/\(sha).cast", encoding: .utf8)
        XCTAssertTrue(cast.contains("before-42"), cast)
        XCTAssertFalse(partFiles().keys.contains(xPart), "\(partFiles().keys)")
        XCTAssertTrue(partFiles().keys.contains { $0.contains(y.id) }, "y's recording is still being written: \(partFiles().keys)")
        yShell.type("echo still-$((3*3))\r")
        XCTAssertTrue(yShell.waitFor("still-9"), yShell.text)
        // Every chain verifies on the survivor, the lost replica's session's (its `ended` written by b) among them.
        for ticket in [1, 2, 3] {
            let verify = try fx.tandem(on: "b", ["audit", "verify", "--ticket", "\(ticket)"])
            XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
        }
    }

    /// Acceptance 5: SIGTERM of one replica during ten sessions ends only the sessions it holds,
    /// each with a reason; the other replica's go on.
    func testStoppingOneReplicaEndsOnlyTheSessionsItHolds() throws {
        let fx = try ReplicaFixture(name: "rolling", replicas: ["a", "b"])
        defer { fx.stopAll() }
        var sessions: [(id: String, owner: String)] = []
        for n in 1...10 {
            XCTAssertEqual(try fx.tandem(on: "a", ["ticket", "new", "Ticket \(n)", "--requester", "jane"]).status, 0)
            // Agents alternate between the replicas; each technician is on the other one.
            let owner = n % 2 == 0 ? "a" : "b"
            let s = try fx.activeSession(ticket: n, technicianOn: owner == "a" ? "b" : "a", agentOn: owner)
            sessions.append((s.id, owner))
        }
        try fx.terminate("a")
        for (id, owner) in sessions where owner == "a" {
            XCTAssertEqual(try fx.sql("SELECT state || ' ' || COALESCE(end_reason, '') FROM sessions WHERE id = '\(id)'"), "ended broker stopping\n")
        }
        for (id, owner) in sessions where owner == "b" {
            XCTAssertEqual(try fx.sql("SELECT state FROM sessions WHERE id = '\(id)'"), "active\n")
            let run = try fx.tandem(on: "b", ["exec", id], after: ["--", "echo", "still-\(id)"])
            XCTAssertEqual(run.stdout, "still-\(id)\n", run.stderr)
        }
        XCTAssertEqual(try fx.sql("SELECT state FROM replicas WHERE id = '\(try fx.replicaID("a"))'"), "stopped\n")
        XCTAssertEqual(try fx.sql("SELECT count(*) FROM sessions WHERE state = 'ended' AND end_reason IS NULL"), "0\n")
    }

    /// Acceptance 2: twenty sessions through haproxy (round robin, PROXY v2, health checks on
    /// /healthz), each agent and technician wherever haproxy sends them; all work, every ticket's
    /// chain verifies on whichever replica is asked (the recordings folder is shared).
    func testTwentySessionsThroughHAProxyWhereverEachSideLands() throws {
        let shared = try Harness.scratch("shared-recordings")
        let fx = try ReplicaFixture(name: "haproxy", replicas: ["a", "b", "c"],
                                    extra: ["--metrics-listen", "127.0.0.1:0", "--proxy-from", "127.0.0.1", "--recordings", shared.path])
        defer { fx.stopAll() }
        // The shipped example is one haproxy accepts.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let shipped = try runTool("/usr/sbin/haproxy", ["-c", "-f", root.appendingPathComponent("deploy/haproxy.cfg").path], in: fx.dir)
        XCTAssertEqual(shipped.status, 0, shipped.stdout + shipped.stderr)
        for replica in ["a", "b", "c"] {
            let health = try runTool("/usr/bin/curl", ["-s", "-w", " %{http_code}", "http://127.0.0.1:\(try fx.metricsPort(replica))/healthz"], in: fx.dir)
            XCTAssertEqual(health.stdout, "ok\n 200")
        }
        let lb = try fx.startHAProxy()
        // Straight to a replica from a proxy-from address, without the header: dropped, and said so.
        let direct = try fx.tandem(on: "a", ["ticket", "list"])
        XCTAssertNotEqual(direct.status, 0)
        XCTAssertTrue(Harness.waitUntil(5) { fx.brokers["a"]?.stderr.contains("dropped a connection from load balancer 127.0.0.1:") == true })

        var sessions: [String] = []
        for n in 1...20 {
            let ticket = try fx.tandem(on: lb, ["ticket", "new", "Ticket \(n)", "--requester", "jane"])
            XCTAssertEqual(ticket.status, 0, ticket.stderr)
            let s = try fx.activeSession(ticket: n, technicianOn: lb, agentOn: lb)
            let run = try fx.tandem(on: lb, ["exec", s.id], after: ["--", "sh", "-c", "echo session-\(n); exit \(n)"])
            XCTAssertEqual(run.stdout, "session-\(n)\n", run.stderr)
            XCTAssertEqual(run.status, Int32(n))
            sessions.append(s.id)
        }
        // Spread over the replicas, and often across them.
        let owners = Set(try fx.sql("SELECT owner_replica FROM sessions").split(separator: "\n"))
        XCTAssertEqual(owners.count, 3, "\(owners)")
        let passed = ["a", "b", "c"].map { fx.brokers[$0]?.stderr.components(separatedBy: "passed a command in session").count ?? 1 }.reduce(0, +) - 3
        XCTAssertGreaterThan(passed, 0, "some technicians' commands crossed to another replica")
        print("haproxy: 20 sessions over 3 replicas, \(passed) commands passed between replicas")
        for n in 1...20 {
            let verify = try fx.tandem(on: lb, ["audit", "verify", "--ticket", "\(n)"])
            XCTAssertEqual(verify.status, 0, "ticket \(n): " + verify.stdout + verify.stderr)
        }
        for id in sessions { XCTAssertEqual(try fx.tandem(on: lb, ["session", "end", id]).status, 0) }
    }

    /// Acceptance 3, end to end: ten sessions at once on one ticket, spread over three replicas by
    /// haproxy, each running commands at the same time: one chain, no gap, no fork.
    func testTenConcurrentSessionsOnOneTicketOverThreeReplicasMakeOneChain() throws {
        let shared = try Harness.scratch("shared-recordings")
        let fx = try ReplicaFixture(name: "one-ticket", replicas: ["a", "b", "c"],
                                    extra: ["--metrics-listen", "127.0.0.1:0", "--proxy-from", "127.0.0.1", "--recordings", shared.path])
        defer { fx.stopAll() }
        let lb = try fx.startHAProxy()
        XCTAssertEqual(try fx.tandem(on: lb, ["ticket", "new", "Everyone at once", "--requester", "jane"]).status, 0)
        let requests = try (0..<10).map { _ in try fx.requestSession(on: lb, ticket: 1) }
        let agents = try requests.map { try fx.agent(on: lb, code: $0.code, answer: "y") }
        for r in requests { XCTAssertEqual(r.child.wait(30), 0, r.child.stdout + r.child.stderr) }
        let conf = fx.dir.appendingPathComponent("\(lb).conf").path
        // Three commands in every session, all thirty at once.
        let runs = try requests.flatMap { r in
            try (0..<3).map { k in
                try Child(Harness.tool("tandem"), ["exec", r.id, "--config", conf, "--", "echo", "\(r.id)-\(k)"], in: fx.dir, name: "exec-\(r.id)-\(k)")
            }
        }
        for run in runs { XCTAssertEqual(run.wait(60), 0, run.stderr) }
        for (i, r) in requests.enumerated() {
            for k in 0..<3 { XCTAssertEqual(runs[i * 3 + k].stdout, "\(r.id)-\(k)\n") }
            XCTAssertEqual(try fx.tandem(on: lb, ["session", "end", r.id]).status, 0)
        }
        for agent in agents { XCTAssertEqual(agent.wait(20), 0, agent.stderr) }
        let owners = Set(try fx.sql("SELECT owner_replica FROM sessions").split(separator: "\n"))
        XCTAssertEqual(owners.count, 3, "spread over the three: \(owners)")
        let shape = try fx.sql("SELECT count(*) || ' ' || max(seq) || ' ' || count(DISTINCT seq) || ' ' || count(DISTINCT prev) FROM events WHERE chain = 1")
        let numbers = shape.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Int($0) }
        XCTAssertEqual(numbers.count, 4)
        XCTAssertEqual(Set(numbers).count, 1, "as many events as the highest sequence number, each once, each after a different one: \(shape)")
        XCTAssertEqual(try fx.sql("SELECT count(*) FROM events WHERE chain = 1 AND kind = 'exec'"), "30\n")
        let verify = try fx.tandem(on: lb, ["audit", "verify", "--ticket", "1"])
        XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
        print("one ticket: \(numbers.first ?? 0) events from 3 replicas in one chain")
    }
}

/// Replicas named by letter, on one fresh PostgreSQL database, each with its own data folder holding
/// the same broker keys, its own peer certificate, and a CLI config per replica (`NAME.conf`).
final class ReplicaFixture {
    let dir: URL
    let database: String
    private(set) var brokers: [String: Child] = [:]
    private(set) var ports: [String: Int] = [:]
    private(set) var peerPorts: [String: Int] = [:]
    private var children: [Child] = []
    var probe: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Support/peer_probe.py").path
    }

    /// Flags every replica starts with.
    let extra: [String]

    init(name: String, replicas: [String], extra: [String] = []) throws {
        self.extra = extra
        dir = try Harness.scratch(name)
        database = try BrokerFixture.newPostgresDatabase(in: dir)
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        try check(runTool("/bin/bash", [root.appendingPathComponent("certs/make-dev-certs.sh").path, dir.appendingPathComponent("certs").path],
                          in: dir), "make certs")
        try makeCertificates(in: "peer", names: ["a", "b", "c"])
        try check(runTool("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", dir.appendingPathComponent("alice").path], in: dir), "keygen")
        let first = dir.appendingPathComponent("data-\(replicas[0])")
        try check(runTool(Harness.tool("tandemd"), ["init", "--data", first.path, "--database", database], in: dir), "init")
        try check(runTool(Harness.tool("tandemd"), ["user", "add", "alice", "--role", "technician", "--key",
                                                     dir.appendingPathComponent("alice.pub").path, "--data", first.path, "--database", database],
                          in: dir), "user add")
        // Every replica holds the same keys: codes, the SSH host key, the audit and webhook keys.
        for replica in replicas.dropFirst() {
            let data = dir.appendingPathComponent("data-\(replica)")
            try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            for file in try FileManager.default.contentsOfDirectory(atPath: first.path) where file.hasSuffix(".key") {
                try FileManager.default.copyItem(at: first.appendingPathComponent(file), to: data.appendingPathComponent(file))
            }
        }
        for replica in replicas { try start(replica) }
    }

    func makeCertificates(in folder: String, names: [String]) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        try check(runTool("/bin/bash", [root.appendingPathComponent("certs/make-peer-certs.sh").path, dir.appendingPathComponent(folder).path] + names,
                          in: dir), "make peer certs")
    }

    func start(_ replica: String) throws {
        let peer = dir.appendingPathComponent("peer").path
        let child = try Child(Harness.tool("tandemd"), [
            "serve", "--data", dir.appendingPathComponent("data-\(replica)").path, "--database", database,
            "--listen", "127.0.0.1:0", "--cert", "certs/broker.crt", "--key", "certs/broker.key",
            "--peer-listen", "127.0.0.1:0", "--peer-ca", "\(peer)/peer-ca.crt",
            "--peer-cert", "\(peer)/\(replica).crt", "--peer-key", "\(peer)/\(replica).key",
        ] + extra, in: dir, name: "tandemd-\(replica)")
        children.append(child)
        brokers[replica] = child
        guard Harness.waitUntil(20, { child.stdout.contains("listening on") && child.stderr.contains("peers reach it at") }) else {
            throw Failure("replica \(replica) did not start: \(child.stdout) \(child.stderr)")
        }
        guard let line = child.stdout.split(separator: "\n").first(where: { $0.contains("listening on 127.0.0.1:") }),
              let port = Int(line.components(separatedBy: "listening on 127.0.0.1:")[1].prefix { $0.isNumber }),
              let fingerprint = line.components(separatedBy: "fingerprint ").dropFirst().first?.prefix(while: { !$0.isWhitespace }),
              let peerLine = child.stderr.split(separator: "\n").first(where: { $0.contains("peers reach it at 127.0.0.1:") }),
              let peerPort = Int(peerLine.components(separatedBy: "peers reach it at 127.0.0.1:")[1].prefix { $0.isNumber }) else {
            throw Failure("replica \(replica)'s start lines are not as expected: \(child.stdout) \(child.stderr)")
        }
        ports[replica] = port
        peerPorts[replica] = peerPort
        try Harness.cliConfig(port: port, dir: dir, fingerprint: String(fingerprint))
            .write(to: dir.appendingPathComponent("\(replica).conf"), atomically: true, encoding: .utf8)
    }

    /// The replica's `metrics-listen` port (from its start line).
    func metricsPort(_ replica: String) throws -> Int {
        let out = brokers[replica]?.stdout ?? ""
        guard let line = out.split(separator: "\n").first(where: { $0.contains("metrics on 127.0.0.1:") }),
              let port = Int(line.components(separatedBy: "metrics on 127.0.0.1:")[1].prefix { $0.isNumber }) else {
            throw Failure("no metrics line from \(replica): \(out)")
        }
        return port
    }

    /// haproxy in front of every replica started, in TCP mode with PROXY v2 and /healthz checks,
    /// on a port the OS picked; its CLI config is `lb.conf`. Returns "lb". With `source`, haproxy
    /// reaches the replicas from that address (start them with it as proxy-from), so the test's
    /// own clients on 127.0.0.1 may still reach a replica straight.
    func startHAProxy(source: String? = nil) throws -> String {
        let port = try Harness.freePort()
        var servers = ""
        for (replica, main) in ports.sorted(by: { $0.key < $1.key }) {
            servers += "    server \(replica) 127.0.0.1:\(main) check port \(try metricsPort(replica))\n"
        }
        let config = """
            global
                maxconn 2000
            defaults
                mode tcp
                timeout connect 5s
                timeout client 1h
                timeout server 1h
            frontend tandem
                bind 127.0.0.1:\(port)
                default_backend brokers
            backend brokers
                balance roundrobin
                option httpchk GET /healthz
                http-check expect status 200
                default-server send-proxy-v2 check inter 500ms fall 2 rise 1
                \(source.map { "source \($0)" } ?? "")
            \(servers)
            """
        let path = dir.appendingPathComponent("haproxy.cfg")
        try config.write(to: path, atomically: true, encoding: .utf8)
        let child = try Child("/usr/sbin/haproxy", ["-db", "-f", path.path], in: dir, name: "haproxy")
        children.append(child)
        // Up once it answers for a replica: a TLS handshake through it reaches one.
        let ca = dir.appendingPathComponent("certs/ca.crt").path
        guard Harness.waitUntil(15, {
            (try? runTool("/usr/bin/openssl", ["s_client", "-connect", "127.0.0.1:\(port)", "-CAfile", ca, "-verify_return_error", "-alpn", "http/1.1"],
                          in: dir, stdin: "", timeout: 5))?.stdout.contains("Verify return code: 0") == true
        }) else { throw Failure("haproxy did not start: \(child.stdout) \(child.stderr)") }
        let fingerprint = try String(contentsOf: dir.appendingPathComponent("a.conf"), encoding: .utf8)
            .components(separatedBy: "fingerprint = ")[1].prefix { !$0.isWhitespace }
        let conf = """
            broker = 127.0.0.1:\(port)
            ca = \(ca)
            identity = \(dir.path)/alice
            user = alice
            fingerprint = \(fingerprint)
            """
        try conf.write(to: dir.appendingPathComponent("lb.conf"), atomically: true, encoding: .utf8)
        ports["lb"] = port
        return "lb"
    }

    /// `Support/dropping_proxy.py` in front of `replicas` (new connections go to the next one at
    /// each cut), and, when `config` is named, a CLI config `config.conf` that goes through it.
    func startDroppingProxy(to replicas: [String], config: String? = nil) throws -> (Child, Int) {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Support/dropping_proxy.py").path
        let proxy = try Child("/usr/bin/python3", [script] + replicas.map { "\(ports[$0] ?? 0)" }, in: dir, name: "proxy")
        children.append(proxy)
        guard Harness.waitUntil(10, { proxy.stdout.contains("listening ") }),
              let port = Int(proxy.stdout.components(separatedBy: "listening ")[1].prefix(while: { $0.isNumber })) else {
            throw Failure("the dropping proxy did not start: \(proxy.stderr)")
        }
        if let config, let first = replicas.first {
            let text = try String(contentsOf: dir.appendingPathComponent("\(first).conf"), encoding: .utf8)
                .replacingOccurrences(of: "127.0.0.1:\(ports[first] ?? 0)", with: "127.0.0.1:\(port)")
            try text.write(to: dir.appendingPathComponent("\(config).conf"), atomically: true, encoding: .utf8)
        }
        return (proxy, port)
    }

    /// The id a replica registered under (from its start line).
    func replicaID(_ replica: String) throws -> String {
        let log = brokers[replica]?.stderr ?? ""
        guard let line = log.split(separator: "\n").first(where: { $0.contains(": peers reach it at") }),
              let id = line.components(separatedBy: "replica ").dropFirst().first?.prefix(while: { $0 != ":" }) else {
            throw Failure("no replica id in \(replica)'s log: \(log)")
        }
        return String(id)
    }

    /// A session asked for on `technicianOn` and approved by an agent on `agentOn`.
    func activeSession(ticket: Int, technicianOn: String, agentOn: String) throws -> (id: String, agent: Child) {
        let (request, code, id) = try requestSession(on: technicianOn, ticket: ticket)
        let agent = try agent(on: agentOn, code: code, answer: "y")
        guard request.wait(20) == 0 else { throw Failure("session \(id) not approved: \(request.stdout) \(request.stderr)") }
        return (id, agent)
    }

    /// `tandem shell ID` on a replica, in a terminal, at its prompt.
    func shell(_ id: String, on replica: String) throws -> PseudoTerminal {
        let term = try PseudoTerminal(Harness.tool("tandem"), ["shell", id, "--config", dir.appendingPathComponent("\(replica).conf").path], in: dir)
        guard term.waitForMatch("[$#] ") != nil else { throw Failure("no prompt in \(id): \(term.text)") }
        return term
    }

    /// SIGKILL: the replica stops without a word.
    func kill(_ replica: String) throws {
        guard let child = brokers[replica] else { throw Failure("no replica \(replica)") }
        Glibc.kill(child.process.processIdentifier, SIGKILL)
        guard Harness.waitUntil(10, { !child.process.isRunning }) else { throw Failure("replica \(replica) outlived SIGKILL") }
    }

    /// SIGTERM, and waits for the replica to finish stopping.
    func terminate(_ replica: String) throws {
        guard let child = brokers[replica] else { throw Failure("no replica \(replica)") }
        Glibc.kill(child.process.processIdentifier, SIGTERM)
        guard Harness.waitUntil(30, { !child.process.isRunning }) else { throw Failure("replica \(replica) did not stop on SIGTERM") }
    }

    /// `tandem …` against one replica.
    func tandem(on replica: String, _ words: [String], after: [String] = [], timeout: Double = 30) throws
        -> (status: Int32?, stdout: String, stderr: String) {
        try runTool(Harness.tool("tandem"), words + ["--config", dir.appendingPathComponent("\(replica).conf").path] + after, in: dir, timeout: timeout)
    }

    func requestSession(on replica: String, ticket: Int) throws -> (child: Child, code: String, id: String) {
        let child = try Child(Harness.tool("tandem"), ["session", "new", "--ticket", "\(ticket)", "--scope", "shell", "--no-shell",
                                                       "--config", dir.appendingPathComponent("\(replica).conf").path],
                              in: dir, name: "session-new-\(UUID().uuidString.prefix(4))")
        children.append(child)
        guard Harness.waitUntil(20, { child.stdout.contains("Read this code") }) else { throw Failure("no code: \(child.stdout) \(child.stderr)") }
        let out = child.stdout
        let code = out.components(separatedBy: "user: ")[1].prefix { $0.isNumber || $0 == " " }.trimmingCharacters(in: .whitespaces)
        let id = String(out.components(separatedBy: "Session ")[1].prefix { $0 != " " })
        return (child, code, id)
    }

    func agent(on replica: String, code: String, answer: String) throws -> Child {
        let child = try Child(Harness.tool("tandem-agent"), [code, "--broker", "127.0.0.1:\(ports[replica] ?? 0)", "--ca", "certs/ca.crt"],
                              in: dir, name: "agent-\(UUID().uuidString.prefix(4))", stdin: .pipe)
        children.append(child)
        child.send(answer + "\n")
        return child
    }

    func sql(_ statement: String) throws -> String {
        let r = try runTool("/usr/bin/psql", [String(database.prefix { $0 != "?" }), "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", statement], in: dir)
        guard r.status == 0 else { throw Failure("psql failed: \(r.stderr)") }
        return r.stdout
    }

    /// A process the test started itself, stopped with the replicas.
    func adopt(_ child: Child) { children.append(child) }

    func stopAll() {
        for child in children.reversed() { child.stop() }
    }

    private func check(_ r: (status: Int32?, stdout: String, stderr: String), _ what: String) throws {
        guard r.status == 0 else { throw Failure("\(what) failed: \(r.stdout) \(r.stderr)") }
    }
}
