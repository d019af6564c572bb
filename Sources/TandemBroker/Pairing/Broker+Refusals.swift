import Foundation
import TandemAudit
import TandemCore
import TandemText

extension Broker {
    /// Puts a refusal of a caller's request on record, at most `refusalsRecordedPerMinute` a
    /// minute per caller and chain: a token or a script hammering what it may not do must not
    /// fill a ticket's chain, and refusals spent on one ticket hide nothing on another. The rest
    /// are counted (`tandem_refusals_total`) and said once in the log.
    func recordRefusal(_ refusal: PermissionDenied, session: SessionID?, ticket: Int?, actor: String) async {
        guard refusalBudget(ticket: ticket, actor: actor, kind: refusal.kind) else { return }
        await recordEvent(refusal, session: session, ticket: ticket, actor: actor)
    }

    /// Whether one more refusal by `actor` on `ticket`'s chain goes on record this minute.
    func refusalBudget(ticket: Int?, actor: String, kind: EventKind) -> Bool {
        let minute = Int(clock.now.timeIntervalSince1970 / 60)
        let key = "\(ticket ?? 0)/\(actor)"
        if refusalsThisMinute.count >= Self.refusalWindowsKept, refusalsThisMinute[key] == nil {
            refusalsThisMinute = refusalsThisMinute.filter { $0.value.minute == minute }
        }
        var window = refusalsThisMinute[key].flatMap { $0.minute == minute ? $0 : nil } ?? (minute: minute, count: 0)
        window.count += 1
        // More callers and chains than are kept within one minute: the newest are counted only.
        if refusalsThisMinute.count >= Self.refusalWindowsKept, refusalsThisMinute[key] == nil {
            window.count = Self.refusalsRecordedPerMinute + 2
        } else {
            refusalsThisMinute[key] = window
        }
        guard window.count <= Self.refusalsRecordedPerMinute else {
            BrokerMetrics.refusal(kind.rawValue)
            if window.count == Self.refusalsRecordedPerMinute + 1 {
                logger.warning("more than \(Self.refusalsRecordedPerMinute) refused requests from \(TerminalText.field(actor, limit: 64)) on \(ticket.map { "ticket #\($0)" } ?? "the broker log") this minute: the rest are counted, not recorded")
            }
            return false
        }
        return true
    }
}
