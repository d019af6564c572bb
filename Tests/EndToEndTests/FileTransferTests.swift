import Crypto
import Foundation
import XCTest

/// Issue 4: SFTP through the broker, every file operation on the ticket.
final class FileTransferTests: XCTestCase {
    private func sha256(_ path: String) throws -> String {
        SHA256.hash(data: try Data(contentsOf: URL(fileURLWithPath: path))).map { String(format: "%02x", $0) }.joined()
    }

    private func randomFile(_ path: String, bytes: Int) throws {
        var data = Data(count: bytes)
        data.withUnsafeMutableBytes { p in
            var rng = SystemRandomNumberGenerator()
            let words = p.bindMemory(to: UInt64.self)
            for i in 0..<words.count { words[i] = rng.next() }
        }
        try data.write(to: URL(fileURLWithPath: path))
    }

    private func fileEvents(_ fx: BrokerFixture) throws -> [[String: String]] {
        let log = try fx.tandem(["audit", "log", "--ticket", "1", "--json"])
        return log.stdout.split(separator: "\n").compactMap { line -> [String: String]? in
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            var out = (obj["data"] as? [String: String]) ?? [:]
            out["kind"] = obj["kind"] as? String
            return out
        }
    }

    func testPutAndGetOf64MiBKeepTheContentAndLandOnTheTicket() throws {
        let fx = try BrokerFixture(name: "sftp-big")
        defer { fx.stopAll() }
        let (id, agent) = try fx.activeSession(scope: "shell,files")
        let local = fx.dir.appendingPathComponent("big.bin").path
        try randomFile(local, bytes: 64 << 20)
        let expected = try sha256(local)
        let remoteDir = fx.dir.appendingPathComponent("remote").path
        try FileManager.default.createDirectory(atPath: remoteDir, withIntermediateDirectories: true)

        let put = try fx.tandem(["put", id, local, remoteDir + "/big.bin"], timeout: 120)
        XCTAssertEqual(put.status, 0, put.stderr)
        XCTAssertEqual(put.stdout + put.stderr, "", "quiet when not on a terminal")
        XCTAssertEqual(try sha256(remoteDir + "/big.bin"), expected)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: remoteDir), ["big.bin"], "no temporary file left behind")
        let back = fx.dir.appendingPathComponent("back.bin").path
        let get = try fx.tandem(["get", id, remoteDir + "/big.bin", back], timeout: 120)
        XCTAssertEqual(get.status, 0, get.stderr)
        XCTAssertEqual(try sha256(back), expected)

        let transfers = try fileEvents(fx).filter { $0["kind"] == "file_transfer" }
        let upload = transfers.first { $0["direction"] == "upload" }
        let download = transfers.first { $0["direction"] == "download" }
        XCTAssertEqual(upload?["path"], remoteDir + "/big.bin")
        XCTAssertEqual(upload?["bytes"], String(64 << 20))
        XCTAssertEqual(upload?["sha256"], expected)
        XCTAssertEqual(download?["path"], remoteDir + "/big.bin")
        XCTAssertEqual(download?["bytes"], String(64 << 20))
        XCTAssertEqual(download?["sha256"], expected)
        XCTAssertTrue(Harness.waitUntil(5) { agent.stderr.contains("The technician uploaded") && agent.stderr.contains("67.1 MB") }, agent.stderr)
        XCTAssertTrue(agent.stderr.contains("The technician downloaded"), agent.stderr)
        XCTAssertTrue(try FileManager.default.contentsOfDirectory(atPath: fx.data.appendingPathComponent("files").path).isEmpty,
                      "content capture is off by default")
    }

    func testInterruptedUploadLeavesNothingUnderTheTargetName() throws {
        let fx = try BrokerFixture(name: "sftp-interrupt")
        defer { fx.stopAll() }
        let (id, _) = try fx.activeSession(scope: "files")
        let local = fx.dir.appendingPathComponent("big.bin").path
        try randomFile(local, bytes: 256 << 20)
        let remoteDir = fx.dir.appendingPathComponent("remote").path
        try FileManager.default.createDirectory(atPath: remoteDir, withIntermediateDirectories: true)
        let put = try Child(Harness.tool("tandem"), ["put", id, local, remoteDir + "/target.bin"] + fx.cliConfig, in: fx.dir, name: "put")
        XCTAssertTrue(Harness.waitUntil(30) {
            ((try? FileManager.default.contentsOfDirectory(atPath: remoteDir)) ?? []).contains { $0.contains("tandem-part") }
        }, "the upload goes to a temporary name first")
        kill(put.process.processIdentifier, SIGKILL)
        put.process.waitUntilExit()
        XCTAssertTrue(Harness.waitUntil(15) { ((try? FileManager.default.contentsOfDirectory(atPath: remoteDir)) ?? ["x"]).isEmpty },
                      "neither the target nor the partial file remains: \((try? FileManager.default.contentsOfDirectory(atPath: remoteDir)) ?? [])")
        XCTAssertTrue(Harness.waitUntil(10) { (try? self.fileEvents(fx).contains { $0["kind"] == "file_transfer_interrupted" }) ?? false })
    }

    func testRecursiveGetReproducesTheTree() throws {
        let fx = try BrokerFixture(name: "sftp-tree")
        defer { fx.stopAll() }
        let (id, _) = try fx.activeSession(scope: "files")
        let tree = fx.dir.appendingPathComponent("tree").path
        let fm = FileManager.default
        try fm.createDirectory(atPath: tree + "/a/b/c", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: tree + "/empty-dir", withIntermediateDirectories: true)
        try "deep\n".write(toFile: tree + "/a/b/c/deep.txt", atomically: true, encoding: .utf8)
        try "top\n".write(toFile: tree + "/top.txt", atomically: true, encoding: .utf8)
        XCTAssertTrue(fm.createFile(atPath: tree + "/a/empty.txt", contents: Data()))
        try fm.createSymbolicLink(atPath: tree + "/link", withDestinationPath: "a/b/c/deep.txt")

        let copy = fx.dir.appendingPathComponent("copy").path
        let r = try fx.tandem(["get", "-r", id, tree, copy], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try String(contentsOfFile: copy + "/a/b/c/deep.txt", encoding: .utf8), "deep\n")
        XCTAssertEqual(try String(contentsOfFile: copy + "/top.txt", encoding: .utf8), "top\n")
        XCTAssertEqual(try fm.attributesOfItem(atPath: copy + "/a/empty.txt")[.size] as? Int, 0)
        XCTAssertEqual(try fm.destinationOfSymbolicLink(atPath: copy + "/link"), "a/b/c/deep.txt")
        var isDir: ObjCBool = false
        XCTAssertTrue(fm.fileExists(atPath: copy + "/empty-dir", isDirectory: &isDir) && isDir.boolValue)
        // On a terminal the transfer shows a progress bar with rate and percentage.
        let term = try PseudoTerminal(Harness.tool("tandem"), ["get", id, tree + "/top.txt", fx.dir.appendingPathComponent("top-copy.txt").path]
                                      + fx.cliConfig, in: fx.dir)
        defer { term.stop() }
        XCTAssertTrue(Harness.waitUntil(20) { !term.process.isRunning })
        XCTAssertTrue(term.text.contains("100%") && term.text.contains("/s"), term.text)
        let ls = try fx.tandem(["ls", id, tree])
        XCTAssertEqual(ls.status, 0, ls.stderr)
        XCTAssertTrue(ls.stdout.contains("top.txt") && ls.stdout.contains("lrwxrwxrwx"), ls.stdout)
    }

    func testShellOnlySessionRefusesFileTransfer() throws {
        let fx = try BrokerFixture(name: "sftp-scope")
        defer { fx.stopAll() }
        let (id, agent) = try fx.activeSession(scope: "shell")
        let local = fx.dir.appendingPathComponent("small.txt").path
        try "x\n".write(toFile: local, atomically: true, encoding: .utf8)
        let put = try fx.tandem(["put", id, local, fx.dir.appendingPathComponent("nope.txt").path])
        XCTAssertNotEqual(put.status, 0)
        XCTAssertTrue(put.stderr.contains("did not grant file access"), put.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: fx.dir.appendingPathComponent("nope.txt").path))
        let refused = try fileEvents(fx).filter { $0["kind"] == "channel_refused" }
        XCTAssertEqual(refused.first?["scope"], "files", "\(refused)")
        // The broker refused it: the agent never saw a subsystem request or a packet.
        XCTAssertFalse(agent.stderr.contains("sftp"), agent.stderr)
        XCTAssertFalse(agent.stderr.contains("uploaded"), agent.stderr)
    }

    func testErrorsAreClearAndLogged() throws {
        let fx = try BrokerFixture(name: "sftp-errors")
        defer { fx.stopAll() }
        let (id, _) = try fx.activeSession(scope: "files")
        let local = fx.dir.appendingPathComponent("small.txt").path
        try "hello\n".write(toFile: local, atomically: true, encoding: .utf8)

        let missing = try fx.tandem(["get", id, fx.dir.appendingPathComponent("missing.txt").path, fx.dir.appendingPathComponent("m").path])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("No such file or directory"), missing.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: fx.dir.appendingPathComponent("m").path))

        let denied = try fx.tandem(["put", id, local, "/sys/tandem-test.txt"])
        XCTAssertNotEqual(denied.status, 0)
        XCTAssertTrue(denied.stderr.contains("Permission denied"), denied.stderr)

        let full = try fx.tandem(["put", id, local, "/dev/full"])
        XCTAssertNotEqual(full.status, 0)
        XCTAssertTrue(full.stderr.contains("No space left on device"), full.stderr)

        let failed = try fileEvents(fx).filter { $0["kind"] == "file_op_failed" }
        XCTAssertTrue(failed.contains { $0["status"] == "no_such_file" && $0["path"]?.hasSuffix("missing.txt") == true }, "\(failed)")
        XCTAssertTrue(failed.contains { $0["status"] == "permission_denied" && $0["path"] == "/sys/tandem-test.txt" }, "\(failed)")
        XCTAssertTrue(failed.contains { $0["op"] == "write" && $0["path"] == "/dev/full" }, "\(failed)")
    }

    func testContentCaptureKeepsExactlyTheUploadedFile() throws {
        let fx = try BrokerFixture(name: "sftp-capture", brokerConfig: "capture-files = on\ncapture-max-bytes = 1048576\n")
        defer { fx.stopAll() }
        let (id, _) = try fx.activeSession(scope: "files")
        let local = fx.dir.appendingPathComponent("config.ini").path
        try randomFile(local, bytes: 300_000)
        let expected = try sha256(local)
        let bigLocal = fx.dir.appendingPathComponent("too-big.bin").path
        try randomFile(bigLocal, bytes: 2 << 20)
        XCTAssertEqual(try fx.tandem(["put", id, local, fx.dir.appendingPathComponent("remote.ini").path]).status, 0)
        XCTAssertEqual(try fx.tandem(["put", id, bigLocal, fx.dir.appendingPathComponent("remote.bin").path]).status, 0)

        let uploads = try fileEvents(fx).filter { $0["kind"] == "file_transfer" }
        let small = try XCTUnwrap(uploads.first { $0["path"]?.hasSuffix("remote.ini") == true })
        XCTAssertEqual(small["content_sha256"], expected)
        let captured = fx.data.appendingPathComponent("files/\(expected)").path
        XCTAssertEqual(try sha256(captured), expected)
        let big = try XCTUnwrap(uploads.first { $0["path"]?.hasSuffix("remote.bin") == true })
        XCTAssertNotNil(big["sha256"])
        XCTAssertNil(big["content_sha256"], "over the size cap: hashed but not kept")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: fx.data.appendingPathComponent("files").path), [expected])
    }
}

/// Issue 4, acceptance 5: hand-made malformed SFTP packets through the broker.
final class MalformedSFTPTests: XCTestCase {
    func testMalformedPacketsAreAnsweredOrDroppedWithoutCrashing() throws {
        let fx = try BrokerFixture(name: "sftp-malformed")
        defer { fx.stopAll() }
        let (id, agent) = try fx.activeSession(scope: "shell,files")
        // OpenSSH carries our bytes to the broker's `sftp SESSION` command; Python speaks raw SFTP.
        let driver = """
            import subprocess, struct, sys, time
            cmd = sys.argv[1:]
            p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            def pkt(body): return struct.pack(">I", len(body)) + body
            def read_packet():
                head = p.stdout.read(4)
                if len(head) < 4: return None
                return p.stdout.read(struct.unpack(">I", head)[0])
            p.stdin.write(pkt(b"\\x01" + struct.pack(">I", 3))); p.stdin.flush()
            v = read_packet(); print("version", v[0], struct.unpack(">I", v[1:5])[0])
            p.stdin.write(pkt(b"\\x63" + struct.pack(">I", 7))); p.stdin.flush()
            r = read_packet(); print("reply", r[0], struct.unpack(">I", r[1:5])[0], struct.unpack(">I", r[5:9])[0])
            p.stdin.write(pkt(b"\\x03" + struct.pack(">I", 8) + struct.pack(">I", 1000) + b"abc")); p.stdin.flush()
            r = read_packet(); print("reply", r[0], struct.unpack(">I", r[1:5])[0], struct.unpack(">I", r[5:9])[0])
            p.stdin.write(struct.pack(">I", 0x7fffffff) + b"A" * 64); p.stdin.flush()
            rest = p.stdout.read()
            print("closed", len(rest), p.wait(timeout=20))
            """
        let r = try runTool("/usr/bin/python3", ["-c", driver, "/usr/bin/ssh"] + fx.opensshArguments + ["alice@tandem", "sftp \(id)"],
                            in: fx.dir, timeout: 40)
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "version 2 3", r.stdout)
        XCTAssertTrue(lines.contains("reply 101 7 8"), "unknown type answered OP_UNSUPPORTED: \(r.stdout)")
        XCTAssertTrue(lines.contains("reply 101 8 5"), "truncated request answered BAD_MESSAGE: \(r.stdout)")
        XCTAssertTrue(lines.contains { $0.hasPrefix("closed") }, r.stdout)

        let kinds = try fx.eventKinds()
        XCTAssertTrue(kinds.contains("sftp_unknown_request"), "\(kinds)")
        XCTAssertTrue(kinds.contains("sftp_malformed"), "\(kinds)")
        XCTAssertTrue(fx.broker.stderr.contains("closed a file transfer"), fx.broker.stderr)
        // Both sides live on: the session still runs commands.
        XCTAssertTrue(fx.broker.process.isRunning)
        XCTAssertTrue(agent.process.isRunning)
        XCTAssertEqual(try fx.tandem(["exec", id], after: ["--", "echo", "alive"]).stdout, "alive\n")
    }
}
