import Foundation
import XCTest

/// Issue 3: a tamper-evident timeline that auditors can verify online and offline.
final class AuditTests: XCTestCase {
    /// A session with an exec and a shell on ticket 1, each recorded.
    private func sessionWithShell(_ fx: BrokerFixture) throws -> String {
        let (id, _) = try fx.activeSession()
        XCTAssertEqual(try fx.tandem(["exec", "-n", id], after: ["--", "echo audited-exec"]).status, 0)
        let term = try PseudoTerminal(Harness.tool("tandem"), ["shell", id] + fx.cliConfig, in: fx.dir)
        defer { term.stop() }
        XCTAssertNotNil(term.waitForMatch("[$#] "), term.text)
        term.type("echo first-command\r")
        XCTAssertTrue(term.waitFor("first-command\r\n"))
        term.type("sleep 1.5; echo second-command\r")
        XCTAssertTrue(term.waitFor("second-command\r\n"))
        term.type("exit\r")
        XCTAssertTrue(Harness.waitUntil(15) { !term.process.isRunning })
        XCTAssertTrue(Harness.waitUntil(10) { ((try? fx.sql("SELECT count(*) FROM events WHERE data LIKE '%recording_sha256%'")) ?? "") == "2\n" })
        return id
    }

    func testVerifyNamesEditedDeletedEventsAndChangedRecordings() throws {
        let fx = try BrokerFixture(name: "audit-verify")
        defer { fx.stopAll() }
        _ = try sessionWithShell(fx)
        let ok = try fx.tandem(["audit", "verify", "--ticket", "1"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(ok.stdout.hasPrefix("OK:"), ok.stdout)

        // One byte of one stored event.
        let execID = try fx.sql("SELECT id FROM events WHERE kind = 'exec'").trimmingCharacters(in: .whitespacesAndNewlines)
        try fx.sql("UPDATE events SET actor = 'alicf' WHERE id = \(execID)")
        let edited = try fx.tandem(["audit", "verify", "--ticket", "1"])
        XCTAssertEqual(edited.status, 1)
        XCTAssertTrue(edited.stderr.contains("(id \(execID), exec) was altered"), edited.stderr)
        try fx.sql("UPDATE events SET actor = 'alice' WHERE id = \(execID)")
        XCTAssertEqual(try fx.tandem(["audit", "verify", "--ticket", "1"]).status, 0)

        // One deleted event.
        try fx.sql("CREATE TABLE saved AS SELECT * FROM events WHERE kind = 'offered'; DELETE FROM events WHERE kind = 'offered';")
        let deleted = try fx.tandem(["audit", "verify", "--ticket", "1"])
        XCTAssertEqual(deleted.status, 1)
        XCTAssertTrue(deleted.stderr.contains("is missing") && deleted.stderr.contains("events were deleted"), deleted.stderr)
        try fx.sql("INSERT INTO events SELECT * FROM saved; DROP TABLE saved;")
        XCTAssertEqual(try fx.tandem(["audit", "verify", "--ticket", "1"]).status, 0)

        // One changed recording.
        let sha = try fx.sql("SELECT json_extract(data, '$.recording_sha256') FROM events WHERE json_extract(data, '$.channel') = 'shell'")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let cast = fx.data.appendingPathComponent("recordings/\(sha).cast")
        let original = try Data(contentsOf: cast)
        var changed = original
        changed[changed.count / 2] ^= 0x01
        try changed.write(to: cast)
        let recording = try fx.tandem(["audit", "verify", "--ticket", "1"])
        XCTAssertEqual(recording.status, 1)
        XCTAssertTrue(recording.stderr.contains("recording \(sha).cast") && recording.stderr.contains("altered"), recording.stderr)
        try original.write(to: cast)
        XCTAssertEqual(try fx.tandem(["audit", "verify", "--ticket", "1"]).status, 0)
    }

    func testExportVerifiesWithoutTheBrokerAndFailsWithASwappedKey() throws {
        let fx = try BrokerFixture(name: "audit-export")
        defer { fx.stopAll() }
        _ = try sessionWithShell(fx)
        let info = try runTool(Harness.tool("tandemd"), ["info", "--data", fx.data.path], in: fx.dir)
        let key = try XCTUnwrap(info.stdout.split(separator: "\n").first { $0.hasPrefix("audit public key:") })
            .replacingOccurrences(of: "audit public key:", with: "").trimmingCharacters(in: .whitespaces)
        let bundle = fx.dir.appendingPathComponent("ticket-1.tar").path
        let export = try fx.tandem(["audit", "export", "--ticket", "1", "-o", bundle])
        XCTAssertEqual(export.status, 0, export.stderr)
        fx.broker.stop()

        // No broker, no config: only the bundle.
        let offline = try runTool(Harness.tool("tandem"), ["audit", "verify", bundle, "--public-key", key], in: fx.dir)
        XCTAssertEqual(offline.status, 0, offline.stdout + offline.stderr)
        XCTAssertTrue(offline.stdout.contains("2 recordings verified"), offline.stdout)
        let listing = try runTool("/bin/tar", ["tf", bundle], in: fx.dir)
        XCTAssertTrue(listing.stdout.contains("events.jsonl") && listing.stdout.contains("audit_public_key"), listing.stdout)

        // Swap the bundle's key for another one: the signatures no longer verify.
        let swap = """
            import tarfile, io, base64, os, sys
            src, dst = sys.argv[1], sys.argv[2]
            with tarfile.open(src) as t, tarfile.open(dst, "w") as out:
                for m in t.getmembers():
                    data = t.extractfile(m).read()
                    if m.name == "audit_public_key":
                        data = b"tandem-audit-ed25519 " + base64.b64encode(os.urandom(32)) + b"\\n"
                        m.size = len(data)
                    out.addfile(m, io.BytesIO(data))
            """
        let swapped = fx.dir.appendingPathComponent("swapped.tar").path
        XCTAssertEqual(try runTool("/usr/bin/python3", ["-c", swap, bundle, swapped], in: fx.dir).status, 0)
        let forged = try runTool(Harness.tool("tandem"), ["audit", "verify", swapped], in: fx.dir)
        XCTAssertEqual(forged.status, 1)
        XCTAssertTrue(forged.stderr.contains("invalid signature") || forged.stderr.contains("not a Tandem audit key"), forged.stderr)
        let pinned = try runTool(Harness.tool("tandem"), ["audit", "verify", swapped, "--public-key", key], in: fx.dir)
        XCTAssertEqual(pinned.status, 1)
        XCTAssertTrue(pinned.stderr.contains("not the broker key you gave"), pinned.stderr)
    }

    func testReplayShowsCommandsInOrderAndSpeedChangesElapsedTime() throws {
        let fx = try BrokerFixture(name: "audit-replay")
        defer { fx.stopAll() }
        let id = try sessionWithShell(fx)
        func replay(_ extra: [String]) throws -> (String, TimeInterval) {
            let started = Date()
            let term = try PseudoTerminal(Harness.tool("tandem"), ["audit", "replay", id] + extra + fx.cliConfig, in: fx.dir)
            defer { term.stop() }
            XCTAssertTrue(Harness.waitUntil(30) { !term.process.isRunning })
            XCTAssertEqual(term.process.terminationStatus, 0, term.text)
            return (term.text, Date().timeIntervalSince(started))
        }
        let (normal, normalTime) = try replay([])
        guard let first = normal.range(of: "echo first-command"), let second = normal.range(of: "\nsecond-command\r\n") else {
            return XCTFail("replay lacks the commands: \(normal)")
        }
        XCTAssertLessThan(first.lowerBound, second.lowerBound, "commands in the order they were typed")
        let (fast, fastTime) = try replay(["--speed", "20"])
        XCTAssertTrue(fast.contains("second-command"))
        XCTAssertGreaterThan(normalTime, 1.4, "the 1.5 s pause plays at real pace")
        XCTAssertLessThan(fastTime, normalTime - 1.0, "--speed 20 plays the pause 20 times faster")
    }

    func testRolesAreEnforcedAndRefusalsRecorded() throws {
        let fx = try BrokerFixture(name: "audit-roles")
        defer { fx.stopAll() }
        try fx.addUser("bob", role: "technician")
        try fx.addUser("carol", role: "auditor")
        let (id, _) = try fx.activeSession()
        XCTAssertEqual(try fx.tandem(["exec", "-n", id], after: ["--", "true"]).status, 0)

        // Bob is not on alice's ticket: her session does not exist as far as he can tell.
        let bobLog = try fx.tandem(as: "bob", ["audit", "log", "--session", id])
        XCTAssertEqual(bobLog.status, 1, bobLog.stderr)
        XCTAssertTrue(bobLog.stderr.contains("session \(id) not found"), bobLog.stderr)
        XCTAssertEqual(try fx.tandem(as: "bob", ["audit", "replay", id]).status, 1)
        XCTAssertEqual(try fx.tandem(as: "bob", ["exec", id], after: ["--", "true"]).status, 1)

        let carolNew = try fx.tandem(as: "carol", ["session", "new", "--ticket", "1", "--scope", "shell", "--no-shell"])
        XCTAssertEqual(carolNew.status, 3, carolNew.stderr)
        XCTAssertTrue(carolNew.stderr.contains("may not start sessions"), carolNew.stderr)
        XCTAssertNotEqual(try fx.tandem(as: "carol", ["exec", id], after: ["--", "true"]).status, 0)
        let carolLog = try fx.tandem(as: "carol", ["audit", "log", "--ticket", "1"])
        XCTAssertEqual(carolLog.status, 0, carolLog.stderr)
        XCTAssertTrue(carolLog.stdout.contains("exec"), carolLog.stdout)

        let denied = try fx.sql("SELECT actor FROM events WHERE kind = 'permission_denied' ORDER BY id")
        XCTAssertTrue(denied.contains("bob"), denied)
        XCTAssertTrue(denied.contains("carol"), denied)
        XCTAssertEqual(try fx.tandem(["audit", "verify", "--ticket", "1"]).status, 0, "refusals are part of the verified chain")
    }
}
