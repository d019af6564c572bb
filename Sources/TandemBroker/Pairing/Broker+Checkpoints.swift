import Foundation
import TandemAudit
import TandemStore

// MARK: - Signed checkpoints over the audit chains

extension Broker {
    /// Counts stored events per chain; a session's `ended` is signed at once.
    func noteAppended(_ events: [AuditEvent]) async {
        var due = Set<Int>()
        for event in events {
            if unsigned[event.chain, default: 0] == 0 { unsignedSince[event.chain] = clock.now }
            unsigned[event.chain, default: 0] += 1
            if event.kind == EventKind.ended.rawValue || unsigned[event.chain, default: 0] >= config.checkpointEvery {
                due.insert(event.chain)
            }
        }
        for chain in due.sorted() { await checkpoint(chain: chain) }
    }

    /// Signs the chain's head, so a verifier holding only the public key can trust it.
    func checkpoint(chain: Int) async {
        // Counted before the suspension: events stored meanwhile start the next count.
        unsigned[chain] = 0
        let waitingSince = unsignedSince.removeValue(forKey: chain)
        do {
            try await auditLog.checkpoint(chain: chain, key: identity.auditKey, now: clock.now)
        } catch {
            // Still unsigned: the age keeps growing from when the chain's first unsigned event came.
            if let waitingSince, unsignedSince[chain] == nil { unsignedSince[chain] = waitingSince }
            logger.critical("could not sign a checkpoint for chain \(chain): \(error)")
        }
    }

    /// Reports the gauges (the broker's one-second timer calls this): live sessions by state, and how
    /// long the oldest event not yet covered by a checkpoint has waited.
    public func reportGauges() {
        noteLiveSessions()
        BrokerMetrics.checkpointAge(unsignedSince.values.min().map { clock.now.timeIntervalSince($0) } ?? 0)
    }

    public func checkpointIfUnsigned(chain: Int) async {
        await journal.drain()
        if ((try? await store.unsignedChains()) ?? []).contains(chain) { await checkpoint(chain: chain) }
    }

    /// Signs every chain with events newer than its last checkpoint (startup, the interval
    /// timer, stopping), once everything already submitted is stored.
    public func checkpointAll() async {
        await journal.drain()
        for chain in (try? await store.unsignedChains()) ?? [] {
            await checkpoint(chain: chain)
        }
    }
}
