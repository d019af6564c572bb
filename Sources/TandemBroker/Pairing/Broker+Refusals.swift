import Foundation
import TandemAudit
import TandemCore
import TandemText

extension Broker {
    /// Puts a refusal of a caller's request on record, at most `refusalsRecordedPerMinute` per
    /// caller in a minute: a token or a script hammering what it may not do must not fill a
    /// ticket's chain. The rest are counted (`tandem_refusals_total`) and said once in the log.
    func recordRefusal(_ refusal: PermissionDenied, session: SessionID?, ticket: Int?, actor: String) async {
        let minute = Int(clock.now.timeIntervalSince1970 / 60)
        var window = refusalsThisMinute[actor].flatMap { $0.minute == minute ? $0 : nil } ?? (minute: minute, count: 0)
        window.count += 1
        if refusalsThisMinute.count > 4096 { refusalsThisMinute = refusalsThisMinute.filter { $0.value.minute == minute } }
        refusalsThisMinute[actor] = window
        guard window.count <= Self.refusalsRecordedPerMinute else {
            BrokerMetrics.refusal(refusal.kind.rawValue)
            if window.count == Self.refusalsRecordedPerMinute + 1 {
                logger.warning("more than \(Self.refusalsRecordedPerMinute) refused requests from \(TerminalText.field(actor, limit: 64)) this minute: the rest are counted, not recorded")
            }
            return
        }
        await recordEvent(refusal, session: session, ticket: ticket, actor: actor)
    }
}
