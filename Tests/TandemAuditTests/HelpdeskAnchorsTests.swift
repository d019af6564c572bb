@preconcurrency import Crypto
import Foundation
import TandemAudit
import XCTest

/// Comparing a chain with the checkpoints a helpdesk holds: the newest events deleted, a chain
/// rewritten after it was signed, and lines that prove nothing.
final class HelpdeskAnchorsTests: XCTestCase {
    let key = Curve25519.Signing.PrivateKey()

    func chain(_ n: Int) -> [AuditEvent] {
        var events: [AuditEvent] = []
        var prev = AuditEvent.genesis
        for seq in 1...n {
            var e = AuditEvent(id: Int64(seq), chain: 7, seq: Int64(seq), timeMicros: Int64(seq), session: nil, actor: "a", kind: "k", data: [:], prev: prev)
            e.hash = e.computeHash()
            prev = e.hash
            events.append(e)
        }
        return events
    }

    func mark(_ e: AuditEvent, key: Curve25519.Signing.PrivateKey? = nil) throws -> Checkpoint {
        try Checkpoint.sign(chain: e.chain, seq: e.seq, eventID: e.id, head: e.hash, timeMicros: 0, key: key ?? self.key)
    }

    func testMatchingCheckpointsPass() throws {
        let events = chain(10)
        let report = HelpdeskAnchors.compare(chain: 7, events: events, anchors: [try mark(events[4]), try mark(events[9])],
                                             publicKey: key.publicKey, where: "rt:1")
        XCTAssertTrue(report.ok, "\(report.problems)")
        XCTAssertEqual(report.compared, 2)
    }

    func testTheNewestEventsDeletedAreNamed() throws {
        let events = chain(10)
        let anchors = [try mark(events[4]), try mark(events[9])]
        let report = HelpdeskAnchors.compare(chain: 7, events: Array(events.prefix(5)), anchors: anchors, publicKey: key.publicKey, where: "rt:1")
        XCTAssertFalse(report.ok)
        XCTAssertEqual(report.problems, ["rt:1 holds a signed checkpoint at event 10, but the broker's chain ends at event 5: events 6 to 10 were deleted"])
    }

    func testARewrittenChainIsNamed() throws {
        var events = chain(6)
        let anchor = try mark(events[5])
        events[5].data = ["edited": "yes"]
        events[5].hash = events[5].computeHash()
        let report = HelpdeskAnchors.compare(chain: 7, events: events, anchors: [anchor], publicKey: key.publicKey, where: "rt:1")
        XCTAssertEqual(report.problems.count, 1)
        XCTAssertTrue(report.problems[0].contains("rewritten"), report.problems[0])
    }

    func testForgedOrForeignLinesProveNothing() throws {
        let events = chain(3)
        let forged = try mark(chain(9)[8], key: Curve25519.Signing.PrivateKey())
        // A genuine checkpoint of another ticket's chain, signed by the right key: not this chain's.
        var other = chain(9)[8]
        other.chain = 8
        let otherChain = try mark(other)
        XCTAssertTrue(otherChain.isValid(publicKey: key.publicKey))
        let report = HelpdeskAnchors.compare(chain: 7, events: events, anchors: [forged, otherChain], publicKey: key.publicKey, where: "rt:1")
        XCTAssertTrue(report.ok, "a line signed by someone else cannot fail the check: \(report.problems)")
        XCTAssertEqual(report.ignored, 2)
        XCTAssertEqual(report.compared, 0)
    }
}
