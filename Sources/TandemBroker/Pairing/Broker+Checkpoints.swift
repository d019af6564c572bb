import Foundation
import TandemAudit
import TandemStore

// MARK: - Signed checkpoints over the audit chains

extension Broker {
    /// Counts stored events per chain; a session's `ended` is signed at once.
    func noteAppended(_ events: [AuditEvent]) {
        var due = Set<Int>()
        for event in events {
            unsigned[event.chain, default: 0] += 1
            if event.kind == EventKind.ended.rawValue || unsigned[event.chain, default: 0] >= config.checkpointEvery {
                due.insert(event.chain)
            }
        }
        for chain in due.sorted() { checkpoint(chain: chain) }
    }

    /// Signs the chain's head, so a verifier holding only the public key can trust it.
    func checkpoint(chain: Int) {
        do {
            guard let head = try store.head(chain: chain) else { return }
            let micros = Int64((clock.now.timeIntervalSince1970 * 1_000_000).rounded())
            let mark = try Checkpoint.sign(chain: chain, seq: head.seq, eventID: head.id, head: head.hash,
                                           timeMicros: micros, key: identity.auditKey)
            try store.addCheckpoint(mark)
            unsigned[chain] = 0
        } catch {
            logger.critical("could not sign a checkpoint for chain \(chain): \(error)")
        }
    }

    public func checkpointIfUnsigned(chain: Int) async {
        await journal.drain()
        if ((try? store.unsignedChains()) ?? []).contains(chain) { checkpoint(chain: chain) }
    }

    /// Signs every chain with events newer than its last checkpoint (startup, the interval
    /// timer, stopping), once everything already submitted is stored.
    public func checkpointAll() async {
        await journal.drain()
        for chain in (try? store.unsignedChains()) ?? [] {
            checkpoint(chain: chain)
        }
    }
}
