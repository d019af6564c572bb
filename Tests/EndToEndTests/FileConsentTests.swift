import Foundation
import XCTest

/// Issue 14, acceptance 2: in a `files:ask` session each file operation waits for the user's
/// answer; a refusal fails on the technician's side; every answer is an event.
final class FileConsentTests: XCTestCase {
    private func occurrences(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    func testEachDownloadIsAskedARefusalFailsAndAllStopsTheQuestions() throws {
        let fx = try BrokerFixture(name: "files-ask")
        defer { fx.stopAll() }
        let (id, agent) = try fx.activeSession(scope: "files:ask")
        XCTAssertTrue(agent.stderr.contains("copy files to and from this computer, asking you each time"), agent.stderr)
        let remote = fx.dir.appendingPathComponent("remote")
        let local = fx.dir.appendingPathComponent("local")
        for d in [remote, local] { try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true) }
        for (name, body) in [("a.conf", "alpha\n"), ("b.conf", String(repeating: "b", count: 3100)), ("c.conf", "gamma\n"), ("d.conf", "delta\n")] {
            try Data(body.utf8).write(to: remote.appendingPathComponent(name))
        }
        let question = "alice wants to download "

        // 1. Asked, with the path and size; "y" lets it through.
        let first = try Child(Harness.tool("tandem"), ["get", id, remote.path + "/a.conf", local.path + "/a.conf"] + fx.cliConfig,
                              in: fx.dir, name: "get-a")
        XCTAssertTrue(Harness.waitUntil(20) { self.occurrences(question, in: agent.stderr) == 1 }, agent.stderr)
        XCTAssertTrue(agent.stderr.contains("alice wants to download \(remote.path)/a.conf (6 bytes). Allow? [y/N/a(ll for this session)]"),
                      agent.stderr)
        XCTAssertTrue(first.process.isRunning, "the download waits for the answer")
        agent.send("y\n")
        XCTAssertEqual(first.wait(20), 0, first.stderr)
        XCTAssertEqual(try String(contentsOf: local.appendingPathComponent("a.conf"), encoding: .utf8), "alpha\n")

        // 2. "n": the technician's command fails with the reason, and nothing was read.
        let second = try Child(Harness.tool("tandem"), ["get", id, remote.path + "/b.conf", local.path + "/b.conf"] + fx.cliConfig,
                               in: fx.dir, name: "get-b")
        XCTAssertTrue(Harness.waitUntil(20) { self.occurrences(question, in: agent.stderr) == 2 }, agent.stderr)
        XCTAssertTrue(agent.stderr.contains("/b.conf (3.1 KB). Allow?"), agent.stderr)
        agent.send("n\n")
        XCTAssertNotEqual(second.wait(20), 0, second.stderr)
        XCTAssertTrue(second.stderr.contains("the user refused"), second.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: local.path + "/b.conf"), "a refused download leaves no file")
        XCTAssertTrue(agent.stderr.contains("You refused it."), agent.stderr)

        // 3. "a": allowed, and the next download is not asked.
        let third = try Child(Harness.tool("tandem"), ["get", id, remote.path + "/c.conf", local.path + "/c.conf"] + fx.cliConfig,
                              in: fx.dir, name: "get-c")
        XCTAssertTrue(Harness.waitUntil(20) { self.occurrences(question, in: agent.stderr) == 3 }, agent.stderr)
        agent.send("a\n")
        XCTAssertEqual(third.wait(20), 0, third.stderr)
        let fourth = try fx.tandem(["get", id, remote.path + "/d.conf", local.path + "/d.conf"])
        XCTAssertEqual(fourth.status, 0, fourth.stderr)
        XCTAssertEqual(try String(contentsOf: local.appendingPathComponent("d.conf"), encoding: .utf8), "delta\n")
        XCTAssertEqual(occurrences(question, in: agent.stderr), 3, "after 'all' nothing more is asked: \(agent.stderr)")

        // Every answer is on the ticket, by the end-user, in the order given; only the allowed files moved.
        let answers = try fx.sql("""
            SELECT json_extract(data, '$.path') || ' ' || json_extract(data, '$.answer') || ' ' || json_extract(data, '$.technician') || ' ' || actor
            FROM events WHERE kind = 'file_consent' ORDER BY id
            """).split(separator: "\n").map(String.init)
        let user = NSUserName()
        XCTAssertEqual(answers.count, 3, answers.joined(separator: "\n"))
        XCTAssertTrue(answers[0].hasPrefix("\(remote.path)/a.conf allowed alice \(user)@"), answers.joined(separator: "\n"))
        XCTAssertTrue(answers[1].hasPrefix("\(remote.path)/b.conf refused alice \(user)@"), answers.joined(separator: "\n"))
        XCTAssertTrue(answers[2].hasPrefix("\(remote.path)/c.conf allowed_all alice \(user)@"), answers.joined(separator: "\n"))
        let moved = try fx.sql("SELECT json_extract(data, '$.path') FROM events WHERE kind = 'file_transfer' ORDER BY id")
            .split(separator: "\n").map { ($0 as NSString).lastPathComponent }
        XCTAssertEqual(moved, ["a.conf", "c.conf", "d.conf"])
        let log = try fx.tandem(["audit", "verify", "--ticket", "1"])
        XCTAssertEqual(log.status, 0, log.stdout + log.stderr)
    }

    func testUploadsRemovalsAndRenamesAreAskedAndRsyncIsRefused() throws {
        let fx = try BrokerFixture(name: "files-ask-write")
        defer { fx.stopAll() }
        let (id, agent) = try fx.activeSession(scope: "shell,files:ask")
        let remote = fx.dir.appendingPathComponent("remote")
        try FileManager.default.createDirectory(at: remote, withIntermediateDirectories: true)
        try Data("old\n".utf8).write(to: remote.appendingPathComponent("app.conf"))
        let source = fx.dir.appendingPathComponent("new.conf")
        try Data("new\n".utf8).write(to: source)

        // An upload over an existing file names what it replaces; "n" keeps the old one.
        let put = try Child(Harness.tool("tandem"), ["put", id, source.path, remote.path + "/app.conf"] + fx.cliConfig, in: fx.dir, name: "put")
        XCTAssertTrue(Harness.waitUntil(20) { agent.stderr.contains("alice wants to upload \(remote.path)/app.conf (replacing a file of 4 bytes)") },
                      agent.stderr)
        agent.send("n\n")
        XCTAssertNotEqual(put.wait(20), 0)
        XCTAssertTrue(put.stderr.contains("the user refused"), put.stderr)
        XCTAssertEqual(try String(contentsOf: remote.appendingPathComponent("app.conf"), encoding: .utf8), "old\n")

        // The stock sftp client: a rename and a removal, each asked; the shell is not.
        let batch = fx.dir.appendingPathComponent("batch")
        try "rename \(remote.path)/app.conf \(remote.path)/app.old\n-rm \(remote.path)/app.old\n".write(to: batch, atomically: true, encoding: .utf8)
        let block = try fx.tandem(["ssh-config"])
        XCTAssertEqual(block.status, 0, block.stderr)
        let config = fx.dir.appendingPathComponent("ssh_config")
        try block.stdout.write(to: config, atomically: true, encoding: .utf8)
        let sftp = try Child("/usr/bin/sftp", ["-F", config.path, "-b", batch.path, id], in: fx.dir, name: "sftp")
        XCTAssertTrue(Harness.waitUntil(20) { agent.stderr.contains("alice wants to rename \(remote.path)/app.conf to \(remote.path)/app.old") },
                      agent.stderr)
        agent.send("y\n")
        XCTAssertTrue(Harness.waitUntil(20) { agent.stderr.contains("alice wants to remove \(remote.path)/app.old (4 bytes)") }, agent.stderr)
        agent.send("n\n")
        XCTAssertEqual(sftp.wait(20), 0, "the refused removal was '-rm': sftp goes on: \(sftp.stderr)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: remote.path + "/app.old"), "the refused removal left the file")
        XCTAssertFalse(FileManager.default.fileExists(atPath: remote.path + "/app.conf"), "the allowed rename happened")

        // rsync cannot stop at each file: refused, with what to use instead.
        let rsync = try runTool("/usr/bin/rsync", ["-e", "ssh -F \(config.path)", source.path, "\(id):\(remote.path)/r.conf"], in: fx.dir)
        XCTAssertNotEqual(rsync.status, 0)
        XCTAssertTrue(rsync.stderr.contains("rsync cannot stop to ask"), rsync.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: remote.path + "/r.conf"))

        let answers = try fx.sql("SELECT json_extract(data, '$.op') || ' ' || json_extract(data, '$.answer') FROM events WHERE kind = 'file_consent' ORDER BY id")
        XCTAssertEqual(answers.split(separator: "\n"), ["upload refused", "rename allowed", "remove refused"])
    }
}
