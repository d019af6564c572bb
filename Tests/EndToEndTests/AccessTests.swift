import Foundation
import XCTest

/// Issue 9, acceptance 3 and 4: who reads what, and users and keys with a lifecycle.
final class AccessTests: XCTestCase {
    /// Each read command, as one technician's, an assigned one's, another's, an auditor's, an
    /// admin's and a removed user's answer: alice owns ticket 1 and its first session.
    func testTheRoleMatrixOfEveryReadCommand() throws {
        let fx = try BrokerFixture(name: "role-matrix")
        defer { fx.stopAll() }
        for (name, role) in [("bob", "technician"), ("eve", "technician"), ("carol", "auditor"), ("dave", "admin"), ("mallory", "technician")] {
            try fx.addUser(name, role: role)
        }
        let (aliceSession, aliceAgent) = try fx.activeSession()
        XCTAssertEqual(try fx.tandem(["exec", "-n", aliceSession], after: ["--", "echo alice-was-here"]).status, 0)
        XCTAssertEqual(try fx.tandem(["ticket", "assign", "1", "bob"]).status, 0)
        XCTAssertEqual(try fx.tandem(["ticket", "assign", "1", "mallory"]).status, 0)
        // Only the creator or an admin assigns.
        let bobAssigns = try fx.tandem(as: "bob", ["ticket", "assign", "1", "eve"])
        XCTAssertEqual(bobAssigns.status, 3, bobAssigns.stderr)

        // Bob, assigned, works on the ticket in a session of his own.
        aliceAgent.stop()
        let bobRequest = try Child(Harness.tool("tandem"), ["session", "new", "--ticket", "1", "--no-shell", "--config",
                                                           fx.dir.appendingPathComponent("bob.conf").path], in: fx.dir, name: "bob-session")
        defer { bobRequest.stop() }
        XCTAssertTrue(Harness.waitUntil(20) { bobRequest.stdout.contains("Read this code") }, bobRequest.stderr)
        let code = bobRequest.stdout.components(separatedBy: "user: ").last?.prefix { $0.isNumber || $0 == " " }
            .trimmingCharacters(in: .whitespaces) ?? ""
        let bobSession = bobRequest.stdout.components(separatedBy: "Session ").last?.prefix { $0 != " " }.description ?? ""
        let bobAgent = try fx.agent(code: code, answer: "y")
        defer { bobAgent.stop() }
        XCTAssertEqual(bobRequest.wait(20), 0, bobRequest.stderr)
        XCTAssertEqual(try fx.tandem(as: "bob", ["exec", "-n", bobSession], after: ["--", "echo bob-was-here"]).status, 0)
        XCTAssertTrue(Harness.waitUntil(10) {
            ((try? fx.sql("SELECT COUNT(*) FROM events WHERE data LIKE '%recording_sha256%'")) ?? "") == "2\n"
        })
        XCTAssertEqual(try runTool(Harness.tool("tandemd"), ["user", "remove", "mallory", "--data", fx.data.path], in: fx.dir).status, 0)

        struct Row { let name: String; let sees: Bool; let ownRecordings: Bool; let allRecordings: Bool; let loggedIn: Bool }
        let rows = [
            Row(name: "alice", sees: true, ownRecordings: true, allRecordings: false, loggedIn: true),    // own
            Row(name: "bob", sees: true, ownRecordings: false, allRecordings: false, loggedIn: true),     // assigned
            Row(name: "eve", sees: false, ownRecordings: false, allRecordings: false, loggedIn: true),    // another technician's
            Row(name: "carol", sees: true, ownRecordings: true, allRecordings: true, loggedIn: true),     // auditor
            Row(name: "dave", sees: true, ownRecordings: true, allRecordings: true, loggedIn: true),      // admin
            Row(name: "mallory", sees: false, ownRecordings: false, allRecordings: false, loggedIn: false), // removed
        ]
        let missing = try fx.tandem(as: "eve", ["ticket", "show", "999"])
        for row in rows {
            func run(_ words: [String]) throws -> (status: Int32?, stdout: String, stderr: String) {
                try runTool(Harness.tool("tandem"), words + ["--config", fx.dir.appendingPathComponent(row.name == "alice" ? "tandem.conf" : "\(row.name).conf").path],
                            in: fx.dir)
            }
            let who = row.name
            let list = try run(["ticket", "list"])
            let show = try run(["ticket", "show", "1"])
            let log = try run(["audit", "log", "--ticket", "1"])
            let sessionLog = try run(["audit", "log", "--session", aliceSession])
            let bundle = fx.dir.appendingPathComponent("export-\(who).tar").path
            let export = try run(["audit", "export", "--ticket", "1", "-o", bundle])
            let replay = try run(["audit", "replay", aliceSession, "--speed", "100"])
            guard row.loggedIn else {
                for r in [list, show, log, sessionLog, export, replay] {
                    XCTAssertNotEqual(r.status, 0, who)
                    XCTAssertTrue(r.stderr.contains("did not accept your key"), "\(who): \(r.stderr)")
                }
                continue
            }
            XCTAssertEqual(list.status, 0, who)
            XCTAssertEqual(list.stdout.contains("#1\t"), row.sees, "\(who) ticket list: \(list.stdout)")
            if row.sees {
                for (what, r) in [("ticket show", show), ("audit log", log), ("session log", sessionLog), ("export", export)] {
                    XCTAssertEqual(r.status, 0, "\(who) \(what): \(r.stderr)")
                }
                XCTAssertTrue(show.stdout.contains("echo alice-was-here") && show.stdout.contains("echo bob-was-here"), "\(who): the whole timeline")
                let verified = try runTool(Harness.tool("tandem"), ["audit", "verify", bundle, "--allow-withheld"], in: fx.dir)
                XCTAssertEqual(verified.status, 0, "\(who): \(verified.stdout) \(verified.stderr)")
                XCTAssertEqual(verified.stdout.contains("withheld"), !row.allRecordings, "\(who): \(verified.stdout)")
                // Without the flag, a bundle that leaves recordings out proves less, and says so by failing.
                let strict = try runTool(Harness.tool("tandem"), ["audit", "verify", bundle], in: fx.dir)
                XCTAssertEqual(strict.status, row.allRecordings ? 0 : 1, "\(who): \(strict.stdout) \(strict.stderr)")
                let listing = try runTool("/bin/tar", ["tf", bundle], in: fx.dir).stdout
                XCTAssertEqual(listing.components(separatedBy: ".cast").count - 1, row.allRecordings ? 2 : 1, "\(who): \(listing)")
                if row.ownRecordings {
                    XCTAssertEqual(replay.status, 0, "\(who) replay: \(replay.stderr)")
                    XCTAssertTrue(replay.stdout.contains("alice-was-here"), who)
                } else {
                    XCTAssertEqual(replay.status, 3, "\(who) replay: \(replay.stderr)")
                    XCTAssertTrue(replay.stderr.contains("belong to another technician"), replay.stderr)
                }
            } else {
                for (what, r) in [("ticket show", show), ("audit log", log), ("export", export)] {
                    XCTAssertEqual(r.status, missing.status, "\(who) \(what)")
                    XCTAssertEqual(r.stderr, missing.stderr.replacingOccurrences(of: "#999", with: "#1"), "\(who) \(what): like a ticket that does not exist")
                }
                XCTAssertEqual(sessionLog.stderr, "tandem: session \(aliceSession) not found\n", who)
                XCTAssertEqual(replay.stderr, "tandem: session \(aliceSession) not found\n", who)
                XCTAssertFalse(FileManager.default.fileExists(atPath: bundle), "\(who): no bundle")
            }
        }
        // Every refusal is on the chain of the ticket it concerns.
        let refusals = try fx.sql("SELECT actor FROM events WHERE chain = 1 AND kind = 'permission_denied'")
            .split(separator: "\n").map(String.init)
        XCTAssertGreaterThanOrEqual(refusals.filter { $0 == "eve" }.count, 5, "\(refusals)")
        XCTAssertTrue(refusals.contains("bob"), "\(refusals)")
        // The assigned technician replays his own session, not alice's.
        let bobOwn = try fx.tandem(as: "bob", ["audit", "replay", bobSession, "--speed", "100"])
        XCTAssertEqual(bobOwn.status, 0, bobOwn.stderr)
        XCTAssertTrue(bobOwn.stdout.contains("bob-was-here") && !bobOwn.stdout.contains("alice-was-here"), bobOwn.stdout)
        // Ending someone else's session is answered like a session that does not exist.
        let eveEnds = try fx.tandem(as: "eve", ["session", "end", bobSession])
        XCTAssertEqual(eveEnds.stderr, "tandem: session \(bobSession) not found\n")
        // Opening a session on a ticket one cannot see grants nothing: it is refused.
        let eveSession = try fx.tandem(as: "eve", ["session", "new", "--ticket", "1", "--no-shell"])
        XCTAssertEqual(eveSession.stderr, missing.stderr.replacingOccurrences(of: "#999", with: "#1"))
    }

    func testRemovedDisabledAndReKeyedUsers() throws {
        let fx = try BrokerFixture(name: "user-lifecycle")
        defer { fx.stopAll() }
        func tandemd(_ words: [String]) throws -> (status: Int32?, stdout: String, stderr: String) {
            try runTool(Harness.tool("tandemd"), words + ["--data", fx.data.path], in: fx.dir)
        }
        try fx.addUser("bob", role: "technician")
        XCTAssertEqual(try fx.tandem(as: "bob", ["ticket", "list"]).status, 0)
        XCTAssertEqual(try tandemd(["user", "remove", "bob"]).status, 0)
        let removed = try fx.tandem(as: "bob", ["ticket", "list"])
        XCTAssertNotEqual(removed.status, 0)
        XCTAssertTrue(removed.stderr.contains("did not accept your key"), removed.stderr)
        let again = try tandemd(["user", "add", "bob", "--key", fx.dir.appendingPathComponent("bob.pub").path])
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.stderr.contains("belonged to a removed user"), again.stderr)

        // Disabling ends the live session, on both sides, with that reason.
        let (id, agent) = try fx.activeSession()
        let running = try Child(Harness.tool("tandem"), ["exec", id] + fx.cliConfig + ["--", "sleep 60"], in: fx.dir, name: "sleeper")
        defer { running.stop() }
        XCTAssertTrue(Harness.waitUntil(10) { (try? fx.eventKinds().contains("exec")) ?? false })
        XCTAssertEqual(try tandemd(["user", "disable", "alice"]).status, 0)
        XCTAssertEqual(agent.wait(15), 0, "the agent stops")
        XCTAssertTrue(agent.stderr.contains("ended: the technician's account was disabled"), agent.stderr)
        XCTAssertNotNil(running.wait(15), "the technician's command ends")
        XCTAssertTrue(running.stderr.contains("the session ended: the technician's account was disabled"), running.stderr)
        XCTAssertNotEqual(try fx.tandem(["ticket", "list"]).status, 0, "a disabled user cannot log in")
        XCTAssertEqual(try tandemd(["user", "enable", "alice"]).status, 0)
        XCTAssertEqual(try fx.tandem(["ticket", "list"]).status, 0)

        // A second key, then the first one retired.
        XCTAssertEqual(try runTool("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", fx.dir.appendingPathComponent("alice2").path],
                                   in: fx.dir).status, 0)
        XCTAssertEqual(try tandemd(["user", "key", "add", "alice", fx.dir.appendingPathComponent("alice2.pub").path]).status, 0)
        XCTAssertEqual(try tandemd(["user", "key", "remove", "alice", fx.dir.appendingPathComponent("alice.pub").path]).status, 0)
        XCTAssertNotEqual(try fx.tandem(["ticket", "list"]).status, 0, "the retired key is refused")
        XCTAssertEqual(try fx.tandem(["ticket", "list"], after: ["--identity", fx.dir.appendingPathComponent("alice2").path]).status, 0)
        let list = try tandemd(["user", "list"])
        XCTAssertTrue(list.stdout.contains("bob\ttechnician\tremoved"), list.stdout)

        let kinds = try fx.eventKinds()
        for kind in ["user_removed", "user_disabled", "user_enabled", "user_key_added", "user_key_removed"] {
            XCTAssertTrue(kinds.contains(kind), "\(kind) in \(kinds)")
        }
        XCTAssertEqual(try fx.tandem(["audit", "verify", "--ticket", "1"], after: ["--identity", fx.dir.appendingPathComponent("alice2").path]).status, 0)
    }
}
