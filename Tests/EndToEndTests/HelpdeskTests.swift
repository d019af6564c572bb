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
            return notes.contains { $0.contains("summary") && $0.contains(work.sha) }
        }, "RT's history: \(notes)\nbroker: \(fx.broker.stderr)")
        let all = notes.joined(separator: "\n")
        XCTAssertTrue(all.contains("  approved"), "the approval is on the ticket: \(all)")
        let summary = notes.first { $0.contains("summary") } ?? ""
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
        let subject = "VPN down \(UUID().uuidString.prefix(6))"
        let issue = try HelpdeskServers.newRedmineIssue(subject: subject, in: fx.dir)
        let work = try workOnTicket(fx, reference: "redmine:\(issue)", subject: subject)
        XCTAssertTrue(work.agentOutput.contains(subject), work.agentOutput)
        var notes: [(notes: String, isPrivate: Bool)] = []
        XCTAssertTrue(Harness.waitUntil(60) {
            notes = (try? HelpdeskServers.redmineNotes(issue, in: fx.dir)) ?? []
            return notes.contains { $0.notes.contains("summary") && $0.notes.contains(work.sha) }
        }, "Redmine's journals: \(notes)\nbroker: \(fx.broker.stderr)")
        XCTAssertTrue(notes.allSatisfy(\.isPrivate), "Tandem's notes are private notes")
        XCTAssertTrue(notes.contains { $0.notes.contains("  approved") })
        let summary = notes.first { $0.notes.contains("summary") }?.notes ?? ""
        XCTAssertTrue(summary.contains(work.command), summary)
        XCTAssertTrue(summary.contains("sha256 \(work.sha)"), summary)
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
        let receiver = try Child(python, [script, log.path, secret, String(publicKey), "--fail-first", "1"], in: dir, name: "receiver")
        defer { receiver.stop() }
        XCTAssertTrue(Harness.waitUntil(15) { receiver.stdout.contains("listening") }, receiver.stderr)
        let port = receiver.stdout.components(separatedBy: "listening ")[1].prefix { $0.isNumber }
        fx.broker.stop()
        try fx.startBroker(["--webhook-url", "http://127.0.0.1:\(port)/hooks", "--webhook-secret-file", secretFile.path,
                            "--helpdesk-retry-seconds", "0.2"])

        let (id, agent) = try fx.activeSession()
        XCTAssertEqual(try fx.tandem(["exec", id], after: ["--", "true"]).status, 0)
        XCTAssertEqual(try fx.tandem(["session", "end", id]).status, 0)
        _ = agent.wait(15)

        func received() -> [[String: Any]] {
            ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n")
                .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }
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
        let seqs = all.filter { $0["outcome"] as? String == "accepted" }.compactMap { entry -> Int? in
            guard let body = entry["body"] as? String, let obj = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
                  let data = obj["data"] as? [String: Any], let event = data["event"] as? [String: Any] else { return nil }
            return event["seq"] as? Int
        }
        XCTAssertEqual(seqs, seqs.sorted(), "in order")

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
        XCTAssertTrue(received().contains { $0["outcome"] as? String == "stale timestamp" })
    }
}
