import Crypto
import Foundation
import XCTest

/// Debian's own ssh, sftp, scp and rsync reach a session through `tandem proxy`, configured only by
/// the block `tandem ssh-config` prints (passed with `-F`, so nothing else of ssh's config applies).
final class StockToolsTests: XCTestCase {
    /// The block, written where `-F` reads it.
    private func sshConfig(_ fx: BrokerFixture, as name: String = "alice") throws -> String {
        let r = name == "alice" ? try fx.tandem(["ssh-config"]) : try fx.tandem(as: name, ["ssh-config"])
        guard r.status == 0 else { throw Failure("ssh-config failed: \(r.stderr)") }
        let path = fx.dir.appendingPathComponent("\(name).ssh_config").path
        try r.stdout.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Runs a stock tool to its end; with `expectNotice`, stderr is read again until the proxy
    /// (which outlives ssh by a moment when the broker has last words) has written them too.
    private func run(_ tool: String, _ arguments: [String], _ fx: BrokerFixture, stdin: String? = nil, expectNotice: Bool = false,
                     timeout: Double = 60) throws -> (status: Int32?, stdout: String, stderr: String) {
        let name = "stock-\(UUID().uuidString.prefix(6))"
        var input: Child.StdinMode = .null
        if let stdin {
            let path = fx.dir.appendingPathComponent("\(name).in")
            try Data(stdin.utf8).write(to: path)
            input = .handle(try FileHandle(forReadingFrom: path))
        }
        let child = try Child(tool, arguments, in: fx.dir, name: name, stdin: input)
        let status = child.wait(timeout)
        if expectNotice { _ = Harness.waitUntil(10) { child.stderr.contains("tandem: ") } }
        return (status, child.stdout, child.stderr)
    }

    private func sha256(_ path: String) throws -> String {
        SHA256.hash(data: try Data(contentsOf: URL(fileURLWithPath: path))).map { String(format: "%02x", $0) }.joined()
    }

    /// The session's events: kind and data (JSON text), in order.
    private func events(_ fx: BrokerFixture, _ id: String) throws -> [(kind: String, data: String)] {
        try fx.sql("SELECT kind, data FROM events WHERE session_id = '\(id)' ORDER BY id").split(separator: "\n").map { line in
            let parts = line.split(separator: "|", maxSplits: 1).map(String.init)
            return (parts[0], parts.count > 1 ? parts[1] : "")
        }
    }

    func testSSHSftpScpAndRsyncWorkWithOnlyTheBlockAndLandOnTheTicket() throws {
        let fx = try BrokerFixture(name: "stock-tools")
        defer { fx.stopAll() }
        let (id, _) = try fx.activeSession(scope: "shell,files")
        let config = try sshConfig(fx)
        let block = try String(contentsOfFile: config, encoding: .utf8)
        for line in ["Host s-???????? tandem-???????? tandem-s-????????", "User alice", "HostKeyAlias tandem.127.0.0.1.\(fx.port)",
                     "StrictHostKeyChecking yes", "UserKnownHostsFile \(fx.dir.path)/known_hosts", "GlobalKnownHostsFile /dev/null"] {
            XCTAssertTrue(block.contains(line), "missing '\(line)' in:\n\(block)")
        }
        // The broker's key, beside tandem.conf, one line under the alias.
        let known = try String(contentsOf: fx.dir.appendingPathComponent("known_hosts"), encoding: .utf8)
        XCTAssertTrue(known.hasPrefix("tandem.127.0.0.1.\(fx.port) ssh-ed25519 AAAA"), known)
        XCTAssertEqual(known.split(separator: "\n").count, 1, known)
        let ssh = "/usr/bin/ssh"

        // ssh s-… CMD: its output, and its exit status as ssh's.
        let ok = try run(ssh, ["-F", config, id, "echo ok"], fx)
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertEqual(ok.stdout, "ok\n")
        let seven = try run(ssh, ["-F", config, id, "echo seven >&2; exit 7"], fx)
        XCTAssertEqual(seven.status, 7, seven.stderr)
        XCTAssertTrue(seven.stderr.contains("seven"), seven.stderr)
        let alias = try run(ssh, ["-F", config, "tandem-" + id.dropFirst(2), "echo via-alias"], fx)
        XCTAssertEqual(alias.stdout, "via-alias\n", alias.stderr)

        // ssh -tt s-…: a shell in a terminal, recorded, and the recording plays.
        let term = try PseudoTerminal(ssh, ["-tt", "-F", config, id], in: fx.dir, rows: 24, columns: 80)
        defer { term.stop() }
        XCTAssertNotNil(term.waitForMatch("[$#] "), "no prompt: \(term.text)")
        term.type("echo stock-$((6*7))\r")
        XCTAssertTrue(term.waitFor("stock-42"), term.text)
        term.type("exit 3\r")
        XCTAssertTrue(Harness.waitUntil(15) { !term.process.isRunning })
        XCTAssertEqual(term.process.terminationStatus, 3)

        // sftp -b: put, get, ls.
        let local = fx.dir.appendingPathComponent("fix.conf")
        try Data((0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }).write(to: local)
        let remoteDir = fx.dir.appendingPathComponent("remote")
        try FileManager.default.createDirectory(at: remoteDir, withIntermediateDirectories: true)
        let batch = fx.dir.appendingPathComponent("batch")
        try "put \(local.path) \(remoteDir.path)/sftp.conf\nget \(remoteDir.path)/sftp.conf \(fx.dir.path)/sftp-back.conf\nls \(remoteDir.path)\n"
            .write(to: batch, atomically: true, encoding: .utf8)
        let sftp = try run("/usr/bin/sftp", ["-F", config, "-b", batch.path, id], fx)
        XCTAssertEqual(sftp.status, 0, sftp.stderr)
        XCTAssertTrue(sftp.stdout.contains("\(remoteDir.path)/sftp.conf"), sftp.stdout)
        XCTAssertEqual(try sha256(fx.dir.appendingPathComponent("sftp-back.conf").path), try sha256(local.path))

        // scp both ways (OpenSSH 9 runs it over SFTP).
        let up = try run("/usr/bin/scp", ["-F", config, local.path, "\(id):\(remoteDir.path)/scp.conf"], fx)
        XCTAssertEqual(up.status, 0, up.stderr)
        let down = try run("/usr/bin/scp", ["-F", config, "\(id):\(remoteDir.path)/scp.conf", fx.dir.appendingPathComponent("scp-back.conf").path], fx)
        XCTAssertEqual(down.status, 0, down.stderr)
        let sum = try sha256(local.path)
        XCTAssertEqual(try sha256(remoteDir.appendingPathComponent("scp.conf").path), sum)
        XCTAssertEqual(try sha256(fx.dir.appendingPathComponent("scp-back.conf").path), sum)

        // rsync -a of a tree with a symlink and an empty folder.
        let tree = fx.dir.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: tree.appendingPathComponent("app"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: tree.appendingPathComponent("empty"), withIntermediateDirectories: true)
        try "line one\n".write(to: tree.appendingPathComponent("app/app.log"), atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: tree.appendingPathComponent("current").path, withDestinationPath: "app/app.log")
        let copy = remoteDir.appendingPathComponent("logs")
        let rsync = try run("/usr/bin/rsync", ["-a", "-e", "ssh -F \(config)", tree.path + "/", "\(id):\(copy.path)/"], fx)
        XCTAssertEqual(rsync.status, 0, rsync.stderr)
        XCTAssertEqual(try String(contentsOf: copy.appendingPathComponent("app/app.log"), encoding: .utf8), "line one\n")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: copy.appendingPathComponent("current").path), "app/app.log")
        var isDir: ObjCBool = false
        XCTAssertTrue(FileManager.default.fileExists(atPath: copy.appendingPathComponent("empty").path, isDirectory: &isDir) && isDir.boolValue)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: copy.appendingPathComponent("empty").path), [])

        // On the ticket: the events of the CLI's own exec, shell and file transfers.
        var log: [(kind: String, data: String)] = []
        XCTAssertTrue(Harness.waitUntil(10) {
            log = (try? self.events(fx, id)) ?? []
            return log.filter { $0.kind == "channel_closed" }.count >= 8
        }, "\(log)")
        XCTAssertTrue(log.contains { $0.kind == "exec" && $0.data.contains(#""command":"echo ok""#) }, "\(log)")
        XCTAssertTrue(log.contains { $0.kind == "channel_closed" && $0.data.contains(#""channel":"exec""#) && $0.data.contains(#""exit_status":"7""#) })
        XCTAssertTrue(log.contains { $0.kind == "shell_started" })
        let shellClosed = log.first { $0.kind == "channel_closed" && $0.data.contains(#""channel":"shell""#) }
        XCTAssertTrue(shellClosed?.data.contains(#""exit_status":"3""#) ?? false, "\(String(describing: shellClosed))")
        let uploads = log.filter { $0.kind == "file_transfer" && $0.data.contains(#""direction":"upload""#) }
        let downloads = log.filter { $0.kind == "file_transfer" && $0.data.contains(#""direction":"download""#) }
        XCTAssertEqual(uploads.count, 2, "\(log)")
        XCTAssertEqual(downloads.count, 2, "\(log)")
        XCTAssertTrue((uploads + downloads).allSatisfy { $0.data.contains(#""sha256":"\#(sum)""#) }, "\(uploads + downloads)")
        let rsyncIndex = log.firstIndex { $0.kind == "exec" && $0.data.contains("rsync --server") }
        XCTAssertNotNil(rsyncIndex, "\(log)")
        if let rsyncIndex {
            let closed = log[(rsyncIndex + 1)...].first { $0.kind == "channel_closed" }
            XCTAssertTrue(closed?.data.contains(#""exit_status":"0""#) ?? false, "\(String(describing: closed))")
            XCTAssertTrue(closed?.data.contains("recording_sha256") ?? false, "rsync's output is recorded: \(String(describing: closed))")
            XCTAssertFalse(closed?.data.contains(#""bytes_to_agent":"0""#) ?? true)
        }

        // The shell's recording is the one its channel_closed names, and asciinema plays it.
        let recordings = fx.data.appendingPathComponent("recordings")
        let shellSum = shellClosed?.data.components(separatedBy: #""recording_sha256":""#).dropFirst().first?.prefix(64)
        let cast = try FileManager.default.contentsOfDirectory(atPath: recordings.path).filter { $0.hasSuffix(".cast") }
            .map { recordings.appendingPathComponent($0).path }.first { (try? self.sha256($0)) == shellSum.map(String.init) }
        XCTAssertNotNil(cast, "no recording with the shell's SHA-256 \(String(describing: shellSum))")
        if let cast {
            let player = try PseudoTerminal("/usr/bin/asciinema", ["cat", cast], in: fx.dir)
            defer { player.stop() }
            XCTAssertTrue(Harness.waitUntil(15) { !player.process.isRunning })
            XCTAssertEqual(player.process.terminationStatus, 0)
            XCTAssertTrue(player.text.contains("stock-42"), player.text)
        }

        let verify = try fx.tandem(["audit", "verify", "--ticket", "1"])
        XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
    }

    /// ssh -L, -R, -D are refused and logged; -A gives the session no agent.
    func testForwardingIsRefusedAndLogged() throws {
        let fx = try BrokerFixture(name: "stock-forwarding")
        defer { fx.stopAll() }
        let (id, _) = try fx.activeSession(scope: "shell", agentEnvironment: ["SSH_AUTH_SOCK": ""])
        let config = try sshConfig(fx)

        let remote = try run("/usr/bin/ssh", ["-F", config, "-o", "ExitOnForwardFailure=yes", "-R", "127.0.0.1:0:127.0.0.1:9", id, "echo not-run"], fx)
        XCTAssertEqual(remote.status, 255)
        XCTAssertTrue(remote.stderr.contains("remote port forwarding failed"), remote.stderr)
        XCTAssertFalse(remote.stdout.contains("not-run"))

        // A real service the forwards would reach if they were let through: it greets every caller.
        let target = try Child("/usr/bin/python3", ["-c", Self.greeter], in: fx.dir, name: "greeter")
        defer { target.stop() }
        XCTAssertTrue(Harness.waitUntil(10) { Int(target.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) != nil }, target.stderr)
        let targetPort = Int(target.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        let direct = try connectWhenListening(targetPort)
        XCTAssertEqual(String(decoding: readSome(direct), as: UTF8.self), "hello-from-target", "the greeter answers a direct caller")
        close(direct)

        let local = try Harness.freePort()
        let socks = try Harness.freePort()
        let forwarding = try Child("/usr/bin/ssh", ["-F", config, "-N", "-o", "ExitOnForwardFailure=yes", "-L", "127.0.0.1:\(local):127.0.0.1:\(targetPort)",
                                                    "-D", "127.0.0.1:\(socks)", id], in: fx.dir, name: "ssh-forwarding")
        defer { forwarding.stop() }
        let l = try connectWhenListening(local)
        defer { close(l) }
        XCTAssertEqual(readSome(l), [], "a local forward reached the target")
        let d = try connectWhenListening(socks)
        defer { close(d) }
        // SOCKS5: no authentication, then CONNECT to the greeter.
        let hello: [UInt8] = [5, 1, 0]
        let connectRequest: [UInt8] = [5, 1, 0, 1, 127, 0, 0, 1, UInt8(targetPort >> 8), UInt8(targetPort & 0xff)]
        XCTAssertEqual(write(d, hello, hello.count), hello.count)
        XCTAssertEqual(readSome(d), [5, 0], forwarding.stderr)
        XCTAssertEqual(write(d, connectRequest, connectRequest.count), connectRequest.count)
        XCTAssertNotEqual(readSome(d).prefix(2), [5, 0], "the dynamic forward was connected")

        var logged: [String] = []
        XCTAssertTrue(Harness.waitUntil(10) {
            logged = ((try? fx.sql("SELECT json_extract(data, '$.request') FROM events WHERE kind = 'port_forward_refused'")) ?? "")
                .split(separator: "\n").map(String.init)
            return logged.filter { $0 == "direct-tcpip" }.count == 2 && logged.contains("tcpip-forward")
        }, "\(logged)")
        XCTAssertTrue(fx.broker.stderr.contains("refused remote port forwarding"), fx.broker.stderr)
        XCTAssertTrue(fx.broker.stderr.contains("refused port forwarding to 127.0.0.1:\(targetPort)"), fx.broker.stderr)

        // -A: ssh asks for agent forwarding with a key in its agent, and the session sees no agent.
        // (swift-nio-ssh 0.15.1 answers that request itself without telling the broker: not on record.)
        let socket = fx.dir.appendingPathComponent("agent.sock").path
        let agent = try Child("/usr/bin/ssh-agent", ["-D", "-a", socket], in: fx.dir, name: "ssh-agent")
        defer { agent.stop() }
        XCTAssertTrue(Harness.waitUntil(10) { FileManager.default.fileExists(atPath: socket) })
        let added = try runTool("/usr/bin/env", ["SSH_AUTH_SOCK=\(socket)", "/usr/bin/ssh-add", fx.dir.appendingPathComponent("alice").path], in: fx.dir)
        XCTAssertEqual(added.status, 0, added.stderr)
        let forwarded = try run("/usr/bin/env", ["SSH_AUTH_SOCK=\(socket)", "/usr/bin/ssh", "-v", "-A", "-F", config, id,
                                                 "ssh-add -l; echo status=$?"], fx)
        XCTAssertEqual(forwarded.status, 0, forwarded.stderr)
        XCTAssertTrue(forwarded.stderr.contains("Requesting authentication agent forwarding"), forwarded.stderr)
        XCTAssertFalse(forwarded.stdout.contains("ED25519"), "the technician's key was listed: \(forwarded.stdout)")
        XCTAssertTrue(forwarded.stdout.contains("status=2"), "ssh-add found an agent: \(forwarded.stdout)")
    }

    /// A one-port TCP service on 127.0.0.1 that greets each caller (20 at most, 60 s).
    private static let greeter = """
        import socket
        s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8); s.settimeout(60)
        print(s.getsockname()[1], flush=True)
        for _ in range(20):
            c, _ = s.accept(); c.sendall(b"hello-from-target"); c.close()
        """

    /// Logins that must fail, each with words that name the fix; sessions that are not yours, or
    /// lack the scope, are refused before anything reaches the agent.
    func testRefusedLoginsAndSessionsSayWhyAndReachNothing() throws {
        let fx = try BrokerFixture(name: "stock-refusals")
        defer { fx.stopAll() }
        let (id, agent) = try fx.activeSession(scope: "shell,files")
        let config = try sshConfig(fx)
        let block = try String(contentsOfFile: config, encoding: .utf8)

        // An unknown user.
        let stranger = try run("/usr/bin/ssh", ["-F", config, "-o", "BatchMode=yes", "-l", "mallory", id, "echo no"], fx, expectNotice: true)
        XCTAssertEqual(stranger.status, 255)
        XCTAssertTrue(stranger.stderr.contains("Permission denied (publickey)"), stranger.stderr)
        XCTAssertTrue(stranger.stderr.contains("tandem: no key your ssh offered"), stranger.stderr)
        XCTAssertTrue(stranger.stderr.contains("'mallory'"), stranger.stderr)

        // A key nobody registered, as alice.
        let strayConfig = try keyConfig(with: "ed25519", named: "stray", from: block, fx)
        let stray = try run("/usr/bin/ssh", ["-F", strayConfig, "-o", "BatchMode=yes", "-o", "IdentityAgent=none", id, "echo no"], fx, expectNotice: true)
        XCTAssertEqual(stray.status, 255)
        XCTAssertTrue(stray.stderr.contains("tandem: no key your ssh offered (SHA256:"), stray.stderr)
        XCTAssertTrue(stray.stderr.contains("tandemd user key add alice"), stray.stderr)

        // An ECDSA key, once registered, logs in as an Ed25519 key does.
        let ecdsaConfig = try keyConfig(with: "ecdsa", named: "ecdsa", from: block, fx)
        let registered = try runTool(Harness.tool("tandemd"), ["user", "key", "add", "alice", fx.dir.appendingPathComponent("ecdsa.pub").path,
                                                               "--data", fx.data.path], in: fx.dir)
        XCTAssertEqual(registered.status, 0, registered.stderr)
        let ecdsa = try run("/usr/bin/ssh", ["-v", "-F", ecdsaConfig, "-o", "BatchMode=yes", "-o", "IdentityAgent=none", id, "echo ecdsa-ok"], fx)
        XCTAssertEqual(ecdsa.stdout, "ecdsa-ok\n", ecdsa.stderr)
        XCTAssertTrue(ecdsa.stderr.contains("Server accepts key: \(fx.dir.path)/ecdsa ECDSA"), ecdsa.stderr)

        // An RSA-only client: the broker cannot use its key, and says how to make one it can.
        let rsaConfig = try keyConfig(with: "rsa", named: "rsa", from: block, fx)
        let rsa = try run("/usr/bin/ssh", ["-F", rsaConfig, "-o", "BatchMode=yes", "-o", "IdentityAgent=none", id, "echo no"], fx, expectNotice: true)
        XCTAssertEqual(rsa.status, 255)
        XCTAssertTrue(rsa.stderr.contains("Ed25519 and ECDSA keys only"), rsa.stderr)
        XCTAssertTrue(rsa.stderr.contains("ssh-keygen -t ed25519"), rsa.stderr)

        XCTAssertTrue(Harness.waitUntil(10) { fx.broker.stderr.contains("login refused for 'mallory'") }, fx.broker.stderr)
        XCTAssertTrue(fx.broker.stderr.contains("login refused for 'alice'"), fx.broker.stderr)
        XCTAssertTrue(Harness.waitUntil(10) { fx.broker.stderr.contains("offered no Ed25519 or ECDSA key") }, fx.broker.stderr)

        // Alice's own command reaches the user's screen: the comparison below has something to compare.
        XCTAssertEqual(try run("/usr/bin/ssh", ["-F", config, id, "true"], fx).status, 0)
        XCTAssertTrue(Harness.waitUntil(10) { self.notices(agent).contains { $0.contains("ran: true") } }, agent.stderr)

        // Another technician's session: bob is a technician too, with his own block.
        try fx.addUser("bob", role: "technician")
        let bobConfig = try sshConfig(fx, as: "bob")
        let seenByAgent = notices(agent)
        let bob = try run("/usr/bin/ssh", ["-F", bobConfig, id, "echo bob-was-here"], fx)
        XCTAssertEqual(bob.status, 1)
        XCTAssertTrue(bob.stderr.contains("tandem: session \(id) not found"), bob.stderr)
        XCTAssertFalse(bob.stdout.contains("bob-was-here"))

        // A shell-only session asked for scp and rsync.
        let (shellOnly, shellAgent) = try fx.activeSession(title: "Shell only", scope: "shell")
        let seenByShellAgent = notices(shellAgent)
        let file = fx.dir.appendingPathComponent("note.txt")
        try "note\n".write(to: file, atomically: true, encoding: .utf8)
        let scp = try run("/usr/bin/scp", ["-F", config, file.path, "\(shellOnly):\(fx.dir.path)/copied.txt"], fx)
        XCTAssertNotEqual(scp.status, 0)
        XCTAssertTrue(scp.stderr.contains("did not grant file access"), scp.stderr)
        let rsync = try run("/usr/bin/rsync", ["-a", "-e", "ssh -F \(config)", file.path, "\(shellOnly):\(fx.dir.path)/rsynced.txt"], fx)
        XCTAssertNotEqual(rsync.status, 0)
        XCTAssertTrue(rsync.stderr.contains("did not grant file access"), rsync.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: fx.dir.appendingPathComponent("copied.txt").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: fx.dir.appendingPathComponent("rsynced.txt").path))

        // A command each agent does run, after the refused ones: once its notice is there, any
        // notice of the refused ones would be there too.
        XCTAssertEqual(try run("/usr/bin/ssh", ["-F", config, id, "echo after"], fx).status, 0)
        XCTAssertEqual(try run("/usr/bin/ssh", ["-F", config, shellOnly, "echo after"], fx).status, 0)
        XCTAssertTrue(Harness.waitUntil(10) { self.notices(agent).last?.contains("ran: echo after") ?? false }, agent.stderr)
        XCTAssertTrue(Harness.waitUntil(10) { self.notices(shellAgent).last?.contains("ran: echo after") ?? false }, shellAgent.stderr)

        XCTAssertTrue(Harness.waitUntil(10) { fx.broker.stderr.contains("refused exec in session \(id) for bob") }, fx.broker.stderr)
        XCTAssertTrue(Harness.waitUntil(10) { fx.broker.stderr.contains("refused sftp in session \(shellOnly) for alice") }, fx.broker.stderr)
        XCTAssertTrue(fx.broker.stderr.contains("refused exec in session \(shellOnly) for alice"), fx.broker.stderr)
        // Nothing reached either agent: no channel was opened, so neither told its user anything.
        XCTAssertEqual(notices(agent), seenByAgent + ["▶ The technician ran: echo after"], agent.stderr)
        XCTAssertEqual(notices(shellAgent), seenByShellAgent + ["▶ The technician ran: echo after"], shellAgent.stderr)
        let bobEvents = try events(fx, id)
        XCTAssertTrue(bobEvents.contains { $0.kind == "attach_refused" }, "\(bobEvents)")
        XCTAssertEqual(bobEvents.filter { $0.kind == "exec" }.map(\.data), [#"{"command":"echo ecdsa-ok"}"#, #"{"command":"true"}"#, #"{"command":"echo after"}"#],
                       "only alice's own commands ran")
        let shellEvents = try events(fx, shellOnly)
        XCTAssertEqual(shellEvents.filter { $0.kind == "channel_refused" && $0.data.contains(#""scope":"files""#) }.count, 2, "\(shellEvents)")
        XCTAssertFalse(shellEvents.contains { $0.kind == "sftp_started" }, "\(shellEvents)")
        XCTAssertEqual(shellEvents.filter { $0.kind == "exec" }.map(\.data), [#"{"command":"echo after"}"#], "\(shellEvents)")
    }

    /// A broker answering with another SSH host key under the same name: ssh's own warning, and it stops.
    func testAChangedBrokerHostKeyStopsSSH() throws {
        let fx = try BrokerFixture(name: "stock-hostkey")
        defer { fx.stopAll() }
        let (id, _) = try fx.activeSession(scope: "shell")
        let config = try sshConfig(fx)
        // A second broker: the same certificate (TLS is content), a new SSH host key of its own.
        let other = fx.dir.appendingPathComponent("other-data")
        XCTAssertEqual(try runTool(Harness.tool("tandemd"), ["init", "--data", other.path], in: fx.dir).status, 0)
        let impostor = try Child(Harness.tool("tandemd"), ["serve", "--data", other.path, "--listen", "127.0.0.1:0",
                                                         "--cert", "certs/broker.crt", "--key", "certs/broker.key"], in: fx.dir, name: "impostor")
        defer { impostor.stop() }
        XCTAssertTrue(Harness.waitUntil(15) { impostor.stdout.contains("listening on") }, impostor.stderr)
        guard let port = impostor.stdout.components(separatedBy: "127.0.0.1:").dropFirst().first?.prefix(while: { $0.isNumber }) else {
            return XCTFail("the second broker did not say where it listens: \(impostor.stdout) \(impostor.stderr)")
        }
        let moved = try String(contentsOfFile: config, encoding: .utf8)
            .replacingOccurrences(of: "--broker 127.0.0.1:\(fx.port) ", with: "--broker 127.0.0.1:\(port) ")
        XCTAssertNotEqual(moved, try String(contentsOfFile: config, encoding: .utf8))
        let movedPath = fx.dir.appendingPathComponent("moved.ssh_config").path
        try moved.write(toFile: movedPath, atomically: true, encoding: .utf8)
        let r = try run("/usr/bin/ssh", ["-F", movedPath, id, "echo should-not-run"], fx)
        XCTAssertEqual(r.status, 255)
        XCTAssertTrue(r.stderr.contains("REMOTE HOST IDENTIFICATION HAS CHANGED"), r.stderr)
        XCTAssertTrue(r.stderr.contains("Host key verification failed"), r.stderr)
        XCTAssertFalse(r.stdout.contains("should-not-run"))
        // The real broker, under the same block, still works.
        XCTAssertEqual(try run("/usr/bin/ssh", ["-F", config, id, "echo fine"], fx).stdout, "fine\n")

        // A path ssh would read as a token ('%h') is refused, not written into the block.
        let odd = fx.dir.appendingPathComponent("ca%h.crt")
        try FileManager.default.copyItem(at: fx.dir.appendingPathComponent("certs/ca.crt"), to: odd)
        let refused = try fx.tandem(["ssh-config"], after: ["--ca", odd.path])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("the CA path holds '%'"), refused.stderr)
        XCTAssertEqual(refused.stdout, "")
    }

    /// rsync needs only "copy files": in a files-only session it works, and a command does not.
    func testRsyncWorksInAFilesOnlySession() throws {
        let fx = try BrokerFixture(name: "stock-files-only")
        defer { fx.stopAll() }
        let (id, agent) = try fx.activeSession(scope: "files")
        let config = try sshConfig(fx)
        let tree = fx.dir.appendingPathComponent("conf")
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        try "retries = 3\n".write(to: tree.appendingPathComponent("app.conf"), atomically: true, encoding: .utf8)
        let copy = fx.dir.appendingPathComponent("copied")
        let up = try run("/usr/bin/rsync", ["-a", "-e", "ssh -F \(config)", tree.path + "/", "\(id):\(copy.path)/"], fx)
        XCTAssertEqual(up.status, 0, up.stderr)
        XCTAssertEqual(try String(contentsOf: copy.appendingPathComponent("app.conf"), encoding: .utf8), "retries = 3\n")
        let back = fx.dir.appendingPathComponent("back")
        let down = try run("/usr/bin/rsync", ["-a", "-e", "ssh -F \(config)", "\(id):\(copy.path)/", back.path + "/"], fx)
        XCTAssertEqual(down.status, 0, down.stderr)
        XCTAssertEqual(try String(contentsOf: back.appendingPathComponent("app.conf"), encoding: .utf8), "retries = 3\n")
        // The user was told, in words, each time.
        XCTAssertTrue(Harness.waitUntil(10) { agent.stderr.components(separatedBy: "copied files with rsync").count - 1 == 2 }, agent.stderr)

        let command = try run("/usr/bin/ssh", ["-F", config, id, "touch \(fx.dir.path)/ran"], fx)
        XCTAssertEqual(command.status, 1)
        XCTAssertTrue(command.stderr.contains("did not allow 'shell'"), command.stderr)
        // rsync that asks its server to read more options (-s) is a command, not a copy.
        let sneaky = try run("/usr/bin/ssh", ["-F", config, id, "rsync --server -s . \(fx.dir.path)/x"], fx)
        XCTAssertEqual(sneaky.status, 1)
        XCTAssertTrue(sneaky.stderr.contains("did not allow 'shell'"), sneaky.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: fx.dir.appendingPathComponent("ran").path))
        let kinds = try events(fx, id).map(\.kind)
        XCTAssertEqual(kinds.filter { $0 == "exec" }.count, 2, "\(kinds)")
    }

    /// `tandem proxy` never outlives ssh for long, whatever the network does.
    func testTheProxyEndsWhenTheBrokerIsSilentOrSSHHangsUp() throws {
        let fx = try BrokerFixture(name: "stock-proxy-ends")
        defer { fx.stopAll() }
        // Something that accepts TCP and never speaks TLS.
        let silent = try Child("/usr/bin/python3", ["-c", Self.silentServer], in: fx.dir, name: "silent")
        defer { silent.stop() }
        XCTAssertTrue(Harness.waitUntil(10) { Int(silent.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) != nil }, silent.stderr)
        let port = silent.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let ca = fx.dir.appendingPathComponent("certs/ca.crt").path

        let waiting = try Child(Harness.tool("tandem"), ["proxy", "--broker", "127.0.0.1:\(port)", "--ca", ca, "s-00ff00ff"],
                                in: fx.dir, name: "proxy-silent", stdin: .pipe)
        XCTAssertEqual(waiting.wait(25), 1, "the proxy waited past its handshake limit")
        XCTAssertTrue(waiting.stderr.contains("did not answer the secure handshake within 10 s"), waiting.stderr)

        // ssh exiting sends SIGHUP: the proxy ends within its grace, even mid-handshake.
        let hungUp = try Child(Harness.tool("tandem"), ["proxy", "--broker", "127.0.0.1:\(port)", "--ca", ca, "s-00ff00ff"],
                               in: fx.dir, name: "proxy-hangup", stdin: .pipe)
        XCTAssertTrue(Harness.waitUntil(10) { silent.stderr.components(separatedBy: "accepted").count - 1 >= 2 }, silent.stderr)
        kill(hungUp.process.processIdentifier, SIGHUP)
        XCTAssertEqual(hungUp.wait(8), 0, "the proxy outlived ssh's hang-up, or ended another way: \(hungUp.stderr)")

        // A host that is not a session never leaves the machine.
        let wrong = try runTool(Harness.tool("tandem"), ["proxy", "--broker", "127.0.0.1:\(port)", "--ca", ca, "example.com"], in: fx.dir)
        XCTAssertEqual(wrong.status, 64)
        XCTAssertTrue(wrong.stderr.contains("is not a Tandem session host"), wrong.stderr)
        XCTAssertEqual(silent.stderr.components(separatedBy: "accepted").count - 1, 2, silent.stderr)
    }

    /// Accepts connections and holds them open without a word (4 at most, 60 s); logs each to stderr.
    private static let silentServer = """
        import socket, sys
        s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8); s.settimeout(60)
        print(s.getsockname()[1], flush=True)
        held = []
        for _ in range(4):
            c, _ = s.accept(); held.append(c); print("accepted", file=sys.stderr, flush=True)
        """

    /// What an agent told its user about the technician's requests so far (its "▶" lines).
    private func notices(_ agent: Child) -> [String] {
        agent.stderr.split(separator: "\n").filter { $0.hasPrefix("▶") }.map(String.init)
    }

    /// The block with alice's key swapped for a new key of `type`, the only one ssh may offer.
    private func keyConfig(with type: String, named name: String, from block: String, _ fx: BrokerFixture) throws -> String {
        let key = fx.dir.appendingPathComponent(name).path
        let made = try runTool("/usr/bin/ssh-keygen", ["-q", "-t", type, "-N", "", "-f", key], in: fx.dir)
        guard made.status == 0 else { throw Failure("ssh-keygen -t \(type) failed: \(made.stderr)") }
        let path = fx.dir.appendingPathComponent("\(name).ssh_config").path
        try block.replacingOccurrences(of: "IdentityFile \(fx.dir.path)/alice", with: "IdentityFile \(key)\n    IdentitiesOnly yes")
            .write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    // MARK: - Sockets

    /// Connects to 127.0.0.1:port once ssh listens there (within 15 s).
    private func connectWhenListening(_ port: Int) throws -> Int32 {
        var connected: Int32 = -1
        _ = Harness.waitUntil(15) {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(port).bigEndian
            let r = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            if r == 0 { connected = fd; return true }
            close(fd)
            return false
        }
        guard connected >= 0 else { throw Failure("nothing listened on 127.0.0.1:\(port)") }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(connected, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return connected
    }

    /// What arrives before the peer closes (at most 64 bytes, 10 s); [] for a close.
    private func readSome(_ fd: Int32) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = read(fd, &buffer, 64)
        return n > 0 ? Array(buffer.prefix(n)) : []
    }
}
