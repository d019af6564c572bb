import Foundation
import TandemAudit
import TandemStore

// MARK: - Signed checkpoints over the audit chains

extension Broker {
    func noteAppended(_ event: AuditEvent) {
        unsigned[event.chain, default: 0] += 1
        if event.kind == "ended" || unsigned[event.chain, default: 0] >= config.checkpointEvery {
            checkpoint(chain: event.chain)
        }
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

    public func checkpointIfUnsigned(chain: Int) {
        if ((try? store.unsignedChains()) ?? []).contains(chain) { checkpoint(chain: chain) }
    }

    /// Signs every chain with events newer than its last checkpoint (startup and the interval timer).
    public func checkpointAll() {
        for chain in (try? store.unsignedChains()) ?? [] {
            checkpoint(chain: chain)
        }
    }
}
