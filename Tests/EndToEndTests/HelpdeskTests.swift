import Crypto
import Foundation
import XCTest

/// Issue 11: sessions linked to tickets in a real Request Tracker and a real Redmine, their
/// record posted there through the outbox, and signed webhooks checked by a real receiver.
final class HelpdeskTests: XCTestCase {
    private func sha256(_ path: String) throws -> String {
        SHA256.hash(data: try Data(contentsOf: URL(fileURLWithPath: path))).map { String(format: "%02x", $0) }.joined()
    }

    private func rtFixture(_ name: String, extra: [String] = []) throws -> BrokerFixture {
        try BrokerFixture(name: name, serveArguments: ["--rt-url", try HelpdeskServers.rtURL,
                                                       "--rt-token-file", try HelpdeskServers.setting("TANDEM_TEST_RT_TOKEN_FILE"),
                                                       "--helpdesk-batch-seconds", "1"] + extra)
    }

    /// An approved session on `reference`, an exec and an upload in it, then its end; the command and the file's SHA-256.
    private func workOnTicket(_ fx: BrokerFixture, reference: String, subject: String) throws -> (command: String, sha: String, agentOutput: String) {
        let request = try fx.requestSession(reference: reference, scope: "shell,files")
        let agent = try fx.agent(code: request.code, answer: "y")
        XCTAssertEqual(request.child.wait(20), 0, request.child.stderr)
        let marker = "tandem-\(UUID().uuidString.prefix(8))"
        let exec = try fx.tandem(["exec", request.id], after: ["--", "echo", marker])
        XCTAssertEqual(exec.status, 0, exec.stderr)
        let local = fx.dir.appendingPathComponent("fix.conf").path
        try Data("setting = \(marker)\n".utf8).write(to: URL(fileURLWithPath: local))
        let remote = fx.dir.appendingPathComponent("remote-fix.conf").path
        let put = try fx.tandem(["put", request.id, local, remote])
        XCTAssertEqual(put.status, 0, put.stderr)
        let end = try fx.tandem(["session", "end", request.id])
        XCTAssertEqual(end.status, 0, end.stderr)
        _ = agent.wait(15)
        return ("echo \(marker)", try sha256(local), agent.stdout + agent.stderr)
    }

    // Acceptance 1, Request Tracker.
    func testASessionOnAnRTTicketLeavesItsApprovalAndSummaryInRTsHistory() throws {
        let fx = try rtFixture("rt-summary")
        defer { fx.stopAll() }
        let subject = "Printer <b>jam</b> \(UUID().uuidString.prefix(6))"
        let ticket = try HelpdeskServers.newRTTicket(subject: subject, in: fx.dir)
        let work = try workOnTicket(fx, reference: "rt:\(ticket)", subject: subject)
        XCTAssertTrue(work.agentOutput.contains(subject), "the offer shows RT's subject: \(work.agentOutput)")

        var notes: [String] = []
        XCTAssertTrue(Harness.waitUntil(60) {
            notes = (try? HelpdeskServers.rtNotes(ticket, in: fx.dir)) ?? []
            return notes.contains { $0.contains(": summary\n") && $0.contains("sha256 \(work.sha)") }
        }, "RT's history: \(notes)\nbroker: \(fx.broker.stderr)")
        let all = notes.joined(separator: "\n")
        XCTAssertTrue(all.contains("  approved"), "the approval is on the ticket: \(all)")
        let summary = notes.first { $0.contains(": summary\n") } ?? ""
        XCTAssertTrue(summary.contains(work.command), summary)
        XCTAssertTrue(summary.contains("sha256 \(work.sha)"), summary)
        XCTAssertTrue(summary.contains("Technician: alice"), summary)
        // The broker's own ticket holds the link.
        XCTAssertEqual(try fx.sql("SELECT external FROM tickets").trimmingCharacters(in: .whitespacesAndNewlines), "rt:\(ticket)")
        // Every owed row was delivered; none failed.
        let states = try fx.sql("SELECT state, COUNT(*) FROM outbox GROUP BY state").trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(Harness.waitUntil(20) {
            (try? fx.sql("SELECT COUNT(*) FROM outbox WHERE state != 'delivered'").trimmingCharacters(in: .whitespacesAndNewlines)) == "0"
        }, states)
        XCTAssertFalse(fx.broker.stderr.contains(try HelpdeskServers.secret(fileSetting: "TANDEM_TEST_RT_TOKEN_FILE")), "the token is never logged")
    }

    // Acceptance 1, Redmine.
    func testASessionOnARedmineIssueLeavesPrivateNotesWithTheSummary() throws {
        let fx = try BrokerFixture(name: "redmine-summary", serveArguments: [
            "--redmine-url", try HelpdeskServers.redmineURL,
            "--redmine-key-file", try HelpdeskServers.setting("TANDEM_TEST_REDMINE_KEY_FILE"), "--helpdesk-batch-seconds", "1",
        ])
        defer { fx.stopAll() }
        // A subject with an escape sequence: the end-user's offer shows it, made visible, never run.
        let tag = UUID().uuidString.prefix(6)
        let subject = "VPN \u{1B}[31mdown \(tag)"
        let issue = try HelpdeskServers.newRedmineIssue(subject: subject, in: fx.dir)
        let work = try workOnTicket(fx, reference: "redmine:\(issue)", subject: subject)
        XCTAssertTrue(work.agentOutput.contains("VPN \\x1b[31mdown \(tag)"), work.agentOutput)
        XCTAssertFalse(work.agentOutput.contains("\u{1B}[31m"), "the escape sequence itself never reaches the user's terminal")
        var notes: [(notes: String, isPrivate: Bool)] = []
        XCTAssertTrue(Harness.waitUntil(60) {
            notes = (try? HelpdeskServers.redmineNotes(issue, in: fx.dir)) ?? []
            return notes.contains { $0.notes.contains(": summary\n") && $0.notes.contains("sha256 \(work.sha)") }
        }, "Redmine's journals: \(notes)\nbroker: \(fx.broker.stderr)")
        XCTAssertTrue(notes.allSatisfy(\.isPrivate), "Tandem's notes are private notes")
        XCTAssertTrue(notes.contains { $0.notes.contains("  approved") })
        let summary = notes.first { $0.notes.contains(": summary\n") }?.notes ?? ""
        XCTAssertTrue(summary.contains(work.command), summary)
        XCTAssertTrue(summary.contains("sha256 \(work.sha)"), summary)
    }

    // A busy session: its events go together, at most one comment per helpdesk-batch-seconds.
    func testABusySessionMakesAtMostOneCommentPerInterval() throws {
        let fx = try rtFixture("rt-busy", extra: ["--helpdesk-batch-seconds", "3"])
        defer { fx.stopAll() }
        let ticket = try HelpdeskServers.newRTTicket(subject: "Busy session", in: fx.dir)
        let request = try fx.requestSession(reference: "rt:\(ticket)")
        let agent = try fx.agent(code: request.code, answer: "y")
        XCTAssertEqual(request.child.wait(20), 0, request.child.stderr)
        let started = Date()
        for i in 1...10 {
            XCTAssertEqual(try fx.tandem(["exec", request.id], after: ["--", "echo", "busy-\(i)"]).status, 0)
        }
        XCTAssertEqual(try fx.tandem(["session", "end", request.id]).status, 0)
        _ = agent.wait(15)
        let busy = Date().timeIntervalSince(started)
        let drained = Harness.waitUntil(60) { ((try? self.count(fx, "SELECT COUNT(*) FROM outbox WHERE state != 'delivered'")) ?? 1) == 0 }
        XCTAssertTrue(drained, (try? fx.sql("SELECT state, attempts, last_error FROM outbox")) ?? "")
        let events = try count(fx, "SELECT COUNT(*) FROM events WHERE chain = 1")
        let comments = try HelpdeskServers.rtNotes(ticket, in: fx.dir).count
        XCTAssertEqual(try postedSeqs(ticket, fx).sorted(), Array(1...events))
        // One post when the work begins, then at most one per 3 s while it goes on, and the last.
        XCTAssertLessThanOrEqual(comments, Int(busy / 3) + 3, "\(comments) comments for \(events) events in \(busy) s")
        XCTAssertLessThan(comments, events / 2, "events went together")
    }

    // Acceptance 5: a ticket that does not exist, or is resolved, gets no code.
    func testASessionForAMissingOrResolvedRTTicketIsRefusedBeforeAnyCode() throws {
        let fx = try rtFixture("rt-refused")
        defer { fx.stopAll() }
        let missing = try fx.tandem(["session", "new", "--ticket", "rt:987654", "--no-shell"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("rt:987654 does not exist in Request Tracker"), missing.stderr)
        XCTAssertFalse(missing.stdout.contains("Read this code"), missing.stdout)

        let ticket = try HelpdeskServers.newRTTicket(subject: "Already fixed", in: fx.dir)
        try HelpdeskServers.setRTStatus(ticket, "resolved", in: fx.dir)
        let closed = try fx.tandem(["session", "new", "--ticket", "rt:\(ticket)", "--no-shell"])
        XCTAssertNotEqual(closed.status, 0)
        XCTAssertTrue(closed.stderr.contains("rt:\(ticket) is resolved in Request Tracker"), closed.stderr)
        XCTAssertEqual(try fx.sql("SELECT COUNT(*) FROM events WHERE kind = 'code_issued'").trimmingCharacters(in: .whitespacesAndNewlines), "0")
        XCTAssertEqual(try fx.sql("SELECT COUNT(*) FROM sessions").trimmingCharacters(in: .whitespacesAndNewlines), "0")

        // A broker with no Redmine says so instead of guessing.
        let unknown = try fx.tandem(["session", "new", "--ticket", "redmine:5", "--no-shell"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.stderr.contains("not linked to Redmine"), unknown.stderr)

        // A helpdesk ticket another technician already linked: bob learns whose it is and how to get it.
        let open = try HelpdeskServers.newRTTicket(subject: "Shared queue", in: fx.dir)
        _ = try fx.requestSession(reference: "rt:\(open)")
        try fx.addUser("bob", role: "technician")
        let bobs = try fx.tandem(as: "bob", ["session", "new", "--ticket", "rt:\(open)", "--no-shell"])
        XCTAssertNotEqual(bobs.status, 0)
        XCTAssertTrue(bobs.stderr.contains("rt:\(open) is linked to ticket #1, which is not one of yours"), bobs.stderr)
        XCTAssertTrue(bobs.stderr.contains("tandem ticket assign 1 bob"), bobs.stderr)
    }

    // Acceptance 4: both signatures on every message, a tampered body and a stale timestamp refused,
    // and a 500 followed by a 200 delivering the message exactly once.
    func testWebhooksAreSignedBothWaysAndARetriedMessageArrivesOnce() throws {
        let dir = try Harness.scratch("webhook")
        let secret = "whsec_" + Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let secretFile = dir.appendingPathComponent("webhook.secret")
        try Data((secret + "\n").utf8).write(to: secretFile)
        // The broker's data directory is made by the fixture; its webhook key is read after init.
        let fx = try BrokerFixture(name: "webhook-broker", serveArguments: [])
        defer { fx.stopAll() }
        let info = try runTool(Harness.tool("tandemd"), ["info", "--data", fx.data.path], in: fx.dir)
        guard let publicKey = info.stdout.components(separatedBy: "webhook public key: ").dropFirst().first?.prefix(while: { !$0.isNewline }) else {
            throw Failure("tandemd info printed no webhook key: \(info.stdout) \(info.stderr)")
        }
        let python = try HelpdeskServers.setting("TANDEM_TEST_PYTHON")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Support/webhook_receiver.py").path
        let log = dir.appendingPathComponent("received.jsonl")
        let receiver = try Child(python, [script, log.path, secret, String(publicKey), "--fail-first", "1", "--refuse-type", "tandem.event.exec"],
                                 in: dir, name: "receiver")
        defer { receiver.stop() }
        XCTAssertTrue(Harness.waitUntil(15) { receiver.stdout.contains("listening") }, receiver.stderr)
        let port = receiver.stdout.components(separatedBy: "listening ")[1].prefix { $0.isNumber }
        fx.broker.stop()
        try fx.startBroker(["--webhook-url", "http://127.0.0.1:\(port)/hooks", "--webhook-secret-file", secretFile.path,
                            "--helpdesk-retry-seconds", "0.2", "--metrics-listen", "127.0.0.1:0"])

        let (id, agent) = try fx.activeSession()
        XCTAssertEqual(try fx.tandem(["exec", id], after: ["--", "true"]).status, 0)
        XCTAssertEqual(try fx.tandem(["session", "end", id]).status, 0)
        _ = agent.wait(15)

        func received() -> [[String: Any]] {
            ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n")
                .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }
        // The receiver refused the exec for good (422): the outbox says so, and resync sends it again.
        let failedShown = Harness.waitUntil(30) { ((try? fx.tandem(["ticket", "sync-status", "1"]))?.stdout ?? "").contains("failed\twebhook\texec") }
        let status = try fx.tandem(["ticket", "sync-status", "1"])
        XCTAssertTrue(failedShown, status.stdout + status.stderr)
        XCTAssertEqual(status.status, 1, "sync-status exits 1 while something failed")
        XCTAssertTrue(status.stdout.contains("HTTP 422"), status.stdout)
        XCTAssertTrue(fx.broker.stderr.contains("refused 1 deliveries for good"), fx.broker.stderr)
        let metricsPort = fx.broker.stdout.components(separatedBy: "tandemd metrics on 127.0.0.1:").dropFirst().first?.prefix { $0.isNumber } ?? ""
        let metrics = try runTool("/usr/bin/curl", ["-s", "http://127.0.0.1:\(metricsPort)/metrics"], in: dir).stdout
        XCTAssertTrue(metrics.contains("tandem_outbox_deliveries_total{sink=\"webhook\",outcome=\"failed\"} 1"), metrics)
        let resync = try fx.tandem(["ticket", "resync", "1"])
        XCTAssertEqual(resync.status, 0, resync.stderr)
        XCTAssertTrue(resync.stdout.contains("1 failed deliveries put back in line"), resync.stdout)

        // Every event of the ticket's chain, and its checkpoints, arrive.
        let events = Int(try fx.sql("SELECT COUNT(*) FROM events WHERE chain = 1").trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        XCTAssertGreaterThan(events, 5)
        XCTAssertTrue(Harness.waitUntil(30) {
            received().filter { $0["outcome"] as? String == "accepted" && ($0["type"] as? String ?? "").hasPrefix("tandem.event.") }.count == events
                && received().contains { $0["type"] as? String == "tandem.checkpoint" && $0["outcome"] as? String == "accepted" }
        }, "received: \(received())\nbroker: \(fx.broker.stderr)")
        let all = received()
        XCTAssertTrue(all.filter { $0["status"] as? Int == 200 }.allSatisfy { $0["v1"] as? Bool == true && $0["v1a"] as? Bool == true })
        XCTAssertEqual(all.filter { $0["outcome"] as? String == "bad signature" }.count, 0)
        // The first message was answered 500, sent again with the same id, and accepted once.
        let first = all.first { $0["outcome"] as? String == "failed on purpose" }
        let firstID = try XCTUnwrap(first?["id"] as? String)
        XCTAssertEqual(all.filter { $0["id"] as? String == firstID && $0["outcome"] as? String == "accepted" }.count, 1)
        XCTAssertEqual(all.filter { $0["outcome"] as? String == "duplicate" }.count, 0)
        let ids = all.filter { $0["outcome"] as? String == "accepted" }.compactMap { $0["id"] as? String }
        XCTAssertEqual(Set(ids).count, ids.count, "no message accepted twice")
        // Events arrive in the chain's order.
        let seqs = all.filter { $0["outcome"] as? String == "accepted" && $0["type"] as? String != "tandem.event.exec" }.compactMap { entry -> Int? in
            guard let body = entry["body"] as? String, let obj = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
                  let data = obj["data"] as? [String: Any], let event = data["event"] as? [String: Any] else { return nil }
            return event["seq"] as? Int
        }
        // In order (but for the exec the receiver refused, sent again after the resync).
        XCTAssertEqual(seqs, seqs.sorted(), "in order")
        XCTAssertEqual(all.filter { $0["type"] as? String == "tandem.event.exec" && $0["outcome"] as? String == "accepted" }.count, 1)

        // The receiver refuses a tampered body and a stale timestamp.
        let accepted = try XCTUnwrap(all.first { $0["outcome"] as? String == "accepted" })
        let body = try XCTUnwrap(accepted["body"] as? String)
        let msgID = try XCTUnwrap(accepted["id"] as? String)
        let now = Int(Date().timeIntervalSince1970)
        func sign(_ id: String, _ ts: Int, _ body: String) -> String {
            let key = SymmetricKey(data: Data(base64Encoded: String(secret.dropFirst(6)))!)
            return "v1," + Data(HMAC<SHA256>.authenticationCode(for: Data("\(id).\(ts).\(body)".utf8), using: key)).base64EncodedString()
        }
        func post(_ id: String, _ ts: Int, _ signature: String, _ body: String) throws -> String {
            try runTool("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "webhook-id: \(id)", "-H", "webhook-timestamp: \(ts)",
                                          "-H", "webhook-signature: \(signature)", "--data-binary", body, "http://127.0.0.1:\(port)/hooks"], in: dir).stdout
        }
        let tampered = body.replacingOccurrences(of: "\"ticket\":1", with: "\"ticket\":2")
        XCTAssertNotEqual(tampered, body)
        XCTAssertEqual(try post(msgID + "x", now, sign(msgID + "x", now, body), tampered), "400", "a tampered body is refused")
        XCTAssertEqual(try post(msgID + "y", now - 3600, sign(msgID + "y", now - 3600, body), body), "400", "a stale timestamp is refused")
        // And the control: the same body, correctly signed now, is accepted (the refusals above are for what they say).
        XCTAssertEqual(try post(msgID + "z", now, sign(msgID + "z", now, body), body), "200")
        XCTAssertTrue(received().contains { $0["outcome"] as? String == "stale timestamp" })
    }

    // MARK: The outbox when things break

    /// The chain numbers (`#N`) of every event line in Tandem's comments on an RT ticket, in posting order.
    private func postedSeqs(_ ticket: Int, _ fx: BrokerFixture) throws -> [Int] {
        try HelpdeskServers.rtNotes(ticket, in: fx.dir).flatMap { note in
            note.split(separator: "\n").compactMap { line -> Int? in
                guard line.hasPrefix("#") else { return nil }
                return Int(line.dropFirst().prefix { $0.isNumber })
            }
        }
    }

    private func count(_ fx: BrokerFixture, _ sql: String) throws -> Int {
        Int(try fx.sql(sql).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    private func helpdeskScript(_ command: String) throws {
        let dir = try HelpdeskServers.setting("TANDEM_TEST_HELPDESK_DIR")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/helpdesk.sh").path
        let r = try runTool("/bin/bash", [script, command, dir], in: URL(fileURLWithPath: dir), timeout: 120)
        guard r.status == 0 else { throw Failure("helpdesk.sh \(command) failed: \(r.stdout) \(r.stderr)") }
    }

    /// A new RT ticket, a session on it the end-user approved, and its first events on the ticket.
    private func approvedRTSession(_ fx: BrokerFixture, subject: String) throws -> (ticket: Int, request: (child: Child, code: String, id: String), agent: Child) {
        let ticket = try HelpdeskServers.newRTTicket(subject: subject, in: fx.dir)
        let request = try fx.requestSession(reference: "rt:\(ticket)")
        let agent = try fx.agent(code: request.code, answer: "y")
        XCTAssertEqual(request.child.wait(20), 0, request.child.stderr)
        XCTAssertTrue(Harness.waitUntil(30) { ((try? self.postedSeqs(ticket, fx)) ?? []).count >= 3 }, "the first events reached RT")
        return (ticket, request, agent)
    }

    // Acceptance 2: RT down during a session; once it is back, every event arrives once, in order.
    func testEventsQueueWhileRTIsDownAndArriveOnceInOrderWhenItIsBack() throws {
        let fx = try rtFixture("rt-down", extra: ["--helpdesk-retry-seconds", "0.2", "--helpdesk-retry-max-seconds", "1"])
        defer { fx.stopAll() }
        let (ticket, request, agent) = try approvedRTSession(fx, subject: "Outage test")

        try helpdeskScript("stop-rt")
        var restarted = false
        defer { if !restarted { try? helpdeskScript("restart-rt") } }
        for i in 1...3 {
            XCTAssertEqual(try fx.tandem(["exec", request.id], after: ["--", "echo", "while-rt-is-down-\(i)"]).status, 0)
        }
        // A new session on an RT ticket cannot be checked now: refused, saying why, without a code.
        let unchecked = try fx.tandem(["session", "new", "--ticket", "rt:\(ticket)", "--no-shell"])
        XCTAssertNotEqual(unchecked.status, 0)
        XCTAssertTrue(unchecked.stderr.contains("Request Tracker could not be reached to check rt:\(ticket)"), unchecked.stderr)
        XCTAssertEqual(try fx.tandem(["session", "end", request.id]).status, 0)
        _ = agent.wait(15)
        // The events wait in the outbox, tried again and again. A post under way when RT stopped may
        // wait out the client's 30 s read timeout before its next try: a deadline past that.
        let queued = Harness.waitUntil(75) { ((try? self.count(fx, "SELECT COUNT(*) FROM outbox WHERE state != 'delivered' AND attempts >= 2")) ?? 0) > 0 }
        XCTAssertTrue(queued, (try? fx.sql("SELECT state, attempts, last_error FROM outbox")) ?? "")
        XCTAssertTrue(fx.broker.stderr.contains("could not be reached"), fx.broker.stderr)

        try helpdeskScript("restart-rt")
        restarted = true
        let events = try count(fx, "SELECT COUNT(*) FROM events WHERE chain = 1")
        let drained = Harness.waitUntil(60) { ((try? self.count(fx, "SELECT COUNT(*) FROM outbox WHERE state != 'delivered'")) ?? 1) == 0 }
        XCTAssertTrue(drained, (try? fx.sql("SELECT state, attempts, last_error FROM outbox")) ?? "")
        let seqs = try postedSeqs(ticket, fx)
        XCTAssertEqual(seqs, Array(1...events), "every event once, in order")
        let notes = try HelpdeskServers.rtNotes(ticket, in: fx.dir).joined(separator: "\n")
        for i in 1...3 { XCTAssertEqual(notes.components(separatedBy: "command=echo while-rt-is-down-\(i)").count, 2) }
    }

    // Acceptance 3: the broker killed with deliveries still owed, and killed between a post and its
    // acknowledgement: after a restart everything arrives, nothing twice.
    func testAfterSIGKILLEverythingOwedIsDeliveredAndNothingTwice() throws {
        let fx = try rtFixture("rt-kill", extra: ["--helpdesk-retry-seconds", "0.2", "--helpdesk-retry-max-seconds", "1"])
        defer { fx.stopAll() }
        let (ticket, request, agent) = try approvedRTSession(fx, subject: "Crash test")
        let before = try HelpdeskServers.rtNotes(ticket, in: fx.dir).count

        try helpdeskScript("stop-rt")
        var restarted = false
        defer { if !restarted { try? helpdeskScript("restart-rt") } }
        XCTAssertEqual(try fx.tandem(["exec", request.id], after: ["--", "echo", "before-the-crash"]).status, 0)
        XCTAssertTrue(Harness.waitUntil(20) { ((try? self.count(fx, "SELECT COUNT(*) FROM events WHERE kind = 'channel_closed'")) ?? 0) > 0 })
        kill(fx.broker.process.processIdentifier, SIGKILL)
        _ = fx.broker.wait(10)
        _ = agent.wait(15)
        let owed = try count(fx, "SELECT COUNT(*) FROM outbox WHERE state != 'delivered'")
        XCTAssertGreaterThan(owed, 0, "deliveries were still owed when the broker died")
        // As if the broker had also died between a post and marking it delivered: the rows it had
        // already posted say `sending` under their key. RT holds that post.
        let posted = try fx.sql("SELECT DISTINCT batch FROM outbox WHERE state = 'delivered'").split(separator: "\n").map(String.init)
        XCTAssertFalse(posted.isEmpty)
        try fx.sql("UPDATE outbox SET state = 'sending' WHERE batch = '\(posted[0])'")

        try helpdeskScript("restart-rt")
        restarted = true
        try fx.startBroker(["--rt-url", try HelpdeskServers.rtURL, "--rt-token-file", try HelpdeskServers.setting("TANDEM_TEST_RT_TOKEN_FILE"),
                            "--helpdesk-batch-seconds", "1", "--helpdesk-retry-seconds", "0.2"])
        let events = try count(fx, "SELECT COUNT(*) FROM events WHERE chain = 1")
        let drained = Harness.waitUntil(60) { ((try? self.count(fx, "SELECT COUNT(*) FROM outbox WHERE state != 'delivered'")) ?? 1) == 0 }
        XCTAssertTrue(drained, ((try? fx.sql("SELECT state, attempts, last_error FROM outbox")) ?? "") + fx.broker.stderr)
        XCTAssertTrue(fx.broker.stderr.contains("already holds post \(posted[0])"), fx.broker.stderr)
        XCTAssertEqual(try postedSeqs(ticket, fx), Array(1...events), "every event once, in order, across the crash")
        let keys = try HelpdeskServers.rtNotes(ticket, in: fx.dir).compactMap { $0.components(separatedBy: "tandem-delivery: ").last }
        XCTAssertEqual(Set(keys).count, keys.count, "no post twice")
        XCTAssertGreaterThan(keys.count, before)
    }

    // Acceptance 6: the newest events deleted at the broker (and nothing signed again) pass the
    // chain's own check, but not the comparison with the checkpoints RT holds.
    func testDeletingTheNewestEventsIsCaughtAgainstTheHelpdesk() throws {
        let fx = try rtFixture("rt-anchor")
        defer { fx.stopAll() }
        let ticket = try HelpdeskServers.newRTTicket(subject: "Anchor test", in: fx.dir)
        // Two sessions: each end signs a checkpoint, and each checkpoint is posted to RT.
        for round in 1...2 {
            let request = try fx.requestSession(reference: "rt:\(ticket)")
            let agent = try fx.agent(code: request.code, answer: "y")
            XCTAssertEqual(request.child.wait(20), 0, request.child.stderr)
            XCTAssertEqual(try fx.tandem(["exec", request.id], after: ["--", "echo", "round-\(round)"]).status, 0)
            XCTAssertEqual(try fx.tandem(["session", "end", request.id]).status, 0)
            _ = agent.wait(15)
        }
        let posted = Harness.waitUntil(60) {
            ((try? self.count(fx, "SELECT COUNT(*) FROM outbox WHERE state != 'delivered'")) ?? 1) == 0
                && ((try? self.count(fx, "SELECT COUNT(*) FROM outbox WHERE checkpoint_id IS NOT NULL AND state = 'delivered'")) ?? 0) >= 2
        }
        XCTAssertTrue(posted, (try? fx.sql("SELECT state, checkpoint_id FROM outbox")) ?? "")
        let good = try fx.tandem(["audit", "verify", "--ticket", "1", "--against-helpdesk"])
        XCTAssertEqual(good.status, 0, good.stdout + good.stderr)
        XCTAssertTrue(good.stdout.contains("each matches the broker's chain"), good.stdout)

        // The first checkpoint; everything after it goes, and the checkpoints that covered it.
        let marks = try fx.sql("SELECT seq FROM checkpoints WHERE chain = 1 ORDER BY seq").split(separator: "\n").compactMap { Int($0) }
        XCTAssertGreaterThanOrEqual(marks.count, 2)
        let keep = marks[0]
        let head = try count(fx, "SELECT MAX(seq) FROM events WHERE chain = 1")
        fx.broker.stop()
        try fx.sql("DELETE FROM events WHERE chain = 1 AND seq > \(keep); DELETE FROM checkpoints WHERE chain = 1 AND seq > \(keep)")
        try fx.startBroker(["--rt-url", try HelpdeskServers.rtURL, "--rt-token-file", try HelpdeskServers.setting("TANDEM_TEST_RT_TOKEN_FILE")])

        // The chain alone still verifies: that is the edit a hash chain cannot show.
        let alone = try fx.tandem(["audit", "verify", "--ticket", "1"])
        XCTAssertEqual(alone.status, 0, alone.stdout + alone.stderr)
        let against = try fx.tandem(["audit", "verify", "--ticket", "1", "--against-helpdesk"])
        XCTAssertEqual(against.status, 1, against.stdout + against.stderr)
        XCTAssertTrue(against.stderr.contains("the broker's chain ends at event \(keep): events \(keep + 1) to \(head) were deleted"),
                      against.stderr)
    }
}
