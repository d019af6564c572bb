@preconcurrency import Crypto
import Foundation

/// Compares a ticket's chain at the broker with the signed checkpoints its helpdesk ticket holds.
///
/// A hash chain shows an edit anywhere but not the loss of its newest events; a checkpoint
/// posted outside the broker does. A helpdesk checkpoint whose signature is valid must name an
/// event the broker still has, with the same hash; one past the broker's head means the events
/// after the head were deleted. A line with a bad signature proves nothing and is only counted.
public enum HelpdeskAnchors {
    public struct Report: Sendable, Equatable {
        /// Helpdesk checkpoints with a valid signature, compared.
        public var compared: Int
        /// Lines that looked like checkpoints but were not signed by the audit key (or were for another chain).
        public var ignored: Int
        public var problems: [String]

        public var ok: Bool { problems.isEmpty }

        public init(compared: Int, ignored: Int, problems: [String]) {
            self.compared = compared
            self.ignored = ignored
            self.problems = problems
        }
    }

    /// `events` is the broker's chain `chain`, in order; `anchors` what the helpdesk holds; `where` names the helpdesk ticket.
    public static func compare(chain: Int, events: [AuditEvent], anchors: [Checkpoint], publicKey: Curve25519.Signing.PublicKey,
                               where place: String) -> Report {
        var report = Report(compared: 0, ignored: 0, problems: [])
        let bySeq = Dictionary(events.map { ($0.seq, $0) }, uniquingKeysWith: { first, _ in first })
        let head = events.last?.seq ?? 0
        var beyond: Checkpoint?
        for anchor in anchors {
            guard anchor.chain == chain, anchor.isValid(publicKey: publicKey) else {
                report.ignored += 1
                continue
            }
            report.compared += 1
            if anchor.seq > head {
                if beyond == nil || anchor.seq > beyond!.seq { beyond = anchor }
                continue
            }
            guard let event = bySeq[anchor.seq] else {
                report.problems.append("\(place) holds a signed checkpoint at event \(anchor.seq), which the broker's chain no longer has")
                continue
            }
            if event.hash != anchor.head || event.id != anchor.eventID {
                report.problems.append("\(place) holds a signed checkpoint at event \(anchor.seq) with head \(anchor.head.prefix(16))…, "
                                       + "but the broker's event \(anchor.seq) has hash \(event.hash.prefix(16))…: the chain was rewritten after it was signed")
            }
        }
        if let beyond {
            let first = head + 1
            let gap = first == beyond.seq ? "event \(first) was deleted" : "events \(first) to \(beyond.seq) were deleted"
            report.problems.append("\(place) holds a signed checkpoint at event \(beyond.seq), but the broker's chain ends at event \(head): \(gap)")
        }
        return report
    }
}
