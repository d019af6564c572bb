@preconcurrency import Crypto
import Foundation
import TandemAPI
import TandemAudit
import TandemStore
import TandemText
@testable import TandemBroker
@testable import TandemHelpdesk
import XCTest

/// The helpdesk pieces that need no server: ticket names, signatures, note text, checkpoint lines.
final class HelpdeskPiecesTests: XCTestCase {
    func testTicketReferencesParseOnlyWhatTheyShould() {
        XCTAssertEqual(TicketReference("42"), .number(42))
        XCTAssertEqual(TicketReference("rt:1042"), .external(.rt, 1042))
        XCTAssertEqual(TicketReference("Redmine:77"), .external(.redmine, 77))
        for bad in ["", "0", "-3", "rt:", "rt:0", "rt:-1", "jira:5", "rt:1042x", "rt:١٢", "rt:1:2", "rt :5", "99999999999999999999"] {
            XCTAssertNil(TicketReference(bad), bad)
        }
        XCTAssertEqual(Helpdesks(defaultSystem: .rt).resolve(.number(5)), .external(.rt, 5))
        XCTAssertEqual(Helpdesks().resolve(.number(5)), .number(5))
    }

    func testTheHMACSignatureMatchesAnIndependentImplementation() throws {
        // Python's hmac module over the same secret and content gave this value.
        let signer = try WebhookSigner(secrets: ["whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="], keys: [])
        XCTAssertEqual(signer.signature(id: "msg_1", timestamp: 1_700_000_000, body: Data("{\"a\":1}".utf8)),
                       "v1,AMaOha7DUT/0J0JMycRuYOBSvbx3WtwLd2khXXbaVj4=")
    }

    func testEverySecretAndKeySignsAndTheEd25519OneVerifiesWithThePublicKeyAlone() throws {
        let key = Curve25519.Signing.PrivateKey()
        let old = Curve25519.Signing.PrivateKey()
        let signer = try WebhookSigner(secrets: [WebhookSigner.newSecret(), WebhookSigner.newSecret()], keys: [key, old])
        let body = Data("{\"type\":\"tandem.event.exec\"}".utf8)
        let parts = signer.signature(id: "msg_x", timestamp: 5, body: body).split(separator: " ")
        XCTAssertEqual(parts.filter { $0.hasPrefix("v1,") }.count, 2)
        let v1a = parts.filter { $0.hasPrefix("v1a,") }.compactMap { Data(base64Encoded: String($0.dropFirst(4))) }
        XCTAssertEqual(v1a.count, 2)
        let signed = Data("msg_x.5.".utf8) + body
        XCTAssertTrue(key.publicKey.isValidSignature(v1a[0], for: signed))
        XCTAssertTrue(old.publicKey.isValidSignature(v1a[1], for: signed))
        XCTAssertFalse(key.publicKey.isValidSignature(v1a[0], for: Data("msg_x.5.".utf8) + Data("{}".utf8)), "a changed body fails")
        XCTAssertEqual(WebhookSigner.parseKey(WebhookSigner.keyText(key))?.publicKey.rawRepresentation, key.publicKey.rawRepresentation)
        XCTAssertTrue(WebhookSigner.publicKeyText(key.publicKey).hasPrefix("whpk_"))
    }

    func testASecretThatIsNotOneIsRefusedWithoutShowingIt() {
        XCTAssertThrowsError(try WebhookSigner(secrets: ["hunter2-not-a-whsec"], keys: [])) { error in
            XCTAssertFalse("\(error)".contains("hunter2"), "\(error)")
        }
        XCTAssertThrowsError(try WebhookSigner(secrets: [], keys: []))
    }

    func testCredentialsNeverCrossTheNetworkInClear() {
        XCTAssertNoThrow(try HelpdeskHTTP.baseURL("https://rt.example.com/", setting: "rt-url"))
        XCTAssertNoThrow(try HelpdeskHTTP.baseURL("http://127.0.0.1:8080", setting: "rt-url"))
        for bad in ["http://rt.example.com", "ftp://rt.example.com", "rt.example.com", "https://user:pw@rt.example.com", "https://rt.example.com/?token=x"] {
            XCTAssertThrowsError(try HelpdeskHTTP.baseURL(bad, setting: "rt-url"), bad)
        }
    }

    func testNotesEscapeForeignTextAndRedmineCannotReadItAsMarkup() {
        let e = AuditEvent(id: 3, chain: 1, seq: 3, timeMicros: 0, session: "s-00000001", actor: "eve\u{1B}[2J",
                           kind: "exec", data: ["command": "rm -rf / \u{202E}txt.exe </pre><script>"], prev: AuditEvent.genesis)
        let line = RecordNotes.line(e)
        XCTAssertTrue(line.hasPrefix("#3  00:00:00 UTC  eve\\x1b[2J  exec  command="), line)
        XCTAssertNil(TerminalText.firstControl(in: line), line)
        let markup = Redmine.markup(HelpdeskNote(subject: "Tandem: *bold* \"link\":http://x", body: line, key: "td1-1"))
        XCTAssertFalse(markup.contains("</pre><script>"), markup)
        XCTAssertTrue(markup.contains("&lt;/pre&gt;&lt;script&gt;"), markup)
        XCTAssertEqual(markup.components(separatedBy: "</pre>").count, 2, "one block, closed once")
        XCTAssertTrue(markup.hasSuffix("tandem-delivery: td1-1"))
    }

    func testRetriesDoubleUpToTheLimitWithJitterBelowIt() {
        for attempts in 0..<40 {
            let full = min(300, 1 * pow(2, Double(attempts)))
            for _ in 0..<20 {
                let delay = OutboxWorker.backoff(attempts: attempts, base: 1, max: 300)
                XCTAssertGreaterThanOrEqual(delay, full / 2, "attempt \(attempts)")
                XCTAssertLessThanOrEqual(delay, full, "attempt \(attempts)")
            }
        }
        // Jitter: two brokers retrying together do not stay in step.
        let delays = Set((0..<20).map { _ in OutboxWorker.backoff(attempts: 5, base: 1, max: 300) })
        XCTAssertGreaterThan(delays.count, 1)
    }

    func testTheIdempotencyKeyDependsOnTheRowsAndTheirEvents() {
        let row = Delivery(id: 7, sink: "rt", chain: 3, eventID: 11, checkpointID: nil, state: .pending, attempts: 0, nextMicros: 0,
                           batch: nil, lastError: nil, createdMicros: 0, doneMicros: nil)
        var e = AuditEvent(id: 11, chain: 3, seq: 4, timeMicros: 0, session: nil, actor: "a", kind: "exec", data: [:], prev: AuditEvent.genesis)
        e.hash = e.computeHash()
        let key = OutboxWorker.key([row], events: [e])
        var other = row
        other.id = 8
        XCTAssertNotEqual(key, OutboxWorker.key([other], events: [e]))
        var edited = e
        edited.hash = String(repeating: "0", count: 64)
        XCTAssertNotEqual(key, OutboxWorker.key([row], events: [edited]), "another broker's event with the same ids gets another key")
        XCTAssertTrue(key.hasPrefix("td1-") && key.count == 28, key)
    }

    func testCheckpointLinesRoundTripAndJunkIsSkipped() throws {
        let key = Curve25519.Signing.PrivateKey()
        let c = try Checkpoint.sign(chain: 12, seq: 57, eventID: 301, head: String(repeating: "ab", count: 32), timeMicros: 99, key: key)
        let text = "Signed checkpoint:\n" + CheckpointLine.format(c) + "\ntandem-checkpoint v1 chain=x seq=1\n" + String(repeating: "x", count: 5000)
        let parsed = CheckpointLine.parse(text)
        XCTAssertEqual(parsed.count, 1)
        XCTAssertEqual(parsed.first?.seq, 57)
        XCTAssertEqual(parsed.first?.isValid(publicKey: key.publicKey), true)
    }
}
