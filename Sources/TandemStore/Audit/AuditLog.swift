@preconcurrency import Crypto
import Foundation
import TandemAudit

/// The hash chains, computed once above any store: links events to their chain's head,
/// hashes them and appends them with the store's one atomic primitive.
///
/// It remembers each chain's head and the next id, so a batch costs one transaction; when
/// another writer got there first (an operator's `tandemd user` command, another broker on
/// the same PostgreSQL), the store says so, the log reads the tips again and links anew.
public actor AuditLog {
    public nonisolated let store: any BrokerStore
    private var tips: ChainTips?
    /// The sinks owed each ticket's events and checkpoints: their outbox rows are written with them.
    public nonisolated let routes: OutboxRoutes
    /// Links tried before giving up on a batch that keeps losing the race.
    static let attempts = 32
    /// Batches the store sent back to be linked again (it links them itself since issue 16, so
    /// this stays 0 unless a writer without that runs beside us).
    public private(set) var racesLost = 0

    public init(store: any BrokerStore, routes: OutboxRoutes = .none) {
        self.store = store
        self.routes = routes
    }

    /// Appends events in order, each to its ticket's chain (0 for none), durably; all or none.
    @discardableResult
    public func append(_ events: [Event]) async throws(StoreError) -> [AuditEvent] {
        guard !events.isEmpty else { return [] }
        let chains = Set(events.map { $0.ticketID ?? 0 })
        for attempt in 0..<Self.attempts {
            if attempt > 0 {
                // Writers that lost the race spread out, or the same one wins every round.
                try? await Task.sleep(for: .microseconds(Int.random(in: 0...(500 << min(attempt, 7)))))
            }
            var known = tips ?? ChainTips(heads: [:], nextID: 0)
            let missing = chains.subtracting(known.heads.keys)
            if tips == nil || !missing.isEmpty {
                let fresh = try await store.chainTips(missing)
                known.heads.merge(fresh.heads) { _, new in new }
                known.nextID = max(known.nextID, fresh.nextID)
            }
            var (batch, after) = Self.link(events, tips: known)
            batch.routes = routes
            batch.relinkIfMoved = true
            switch try await store.append(batch) {
            case .appended:
                tips = after
                return batch.events
            case .relinked(let stored):
                tips = Self.tips(known, after: stored)
                return stored
            case .moved:
                racesLost += 1
                tips = nil
            }
        }
        throw .sql("the audit log could not append after \(Self.attempts) tries: other writers kept moving the chain")
    }

    @discardableResult
    public func append(_ event: Event) async throws(StoreError) -> AuditEvent {
        // One event in, one out.
        try await append([event])[0]
    }

    /// A column's text as both engines keep it: PostgreSQL refuses NUL and SQLite cuts text at it,
    /// so what is hashed would differ from what is stored. (`data` is JSON, where NUL is escaped.)
    static func storable(_ text: String) -> String {
        text.contains("\u{0}") ? text.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : text
    }

    /// Forgets the remembered heads (another process is known to have written).
    public func invalidate() { tips = nil }

    /// Links `events` after `tips`: ids, sequence numbers, previous hashes and hashes.
    static func link(_ events: [Event], tips: ChainTips) -> (LinkedBatch, ChainTips) {
        let unlinked = events.map { event in
            AuditEvent(id: 0, chain: event.ticketID ?? 0, seq: 0,
                       timeMicros: Int64((event.time.timeIntervalSince1970 * 1_000_000).rounded()),
                       session: event.sessionID, actor: Self.storable(event.actor), kind: Self.storable(event.kind),
                       data: event.data, prev: "")
        }
        return link(unlinked, tips: tips)
    }

    /// Links events again after `tips`, keeping what they say (the store does this under its lock
    /// when another writer moved a head).
    static func link(_ events: [AuditEvent], tips: ChainTips) -> (LinkedBatch, ChainTips) {
        var heads = tips.heads
        var after: [Int: ChainHead] = [:]
        var id = tips.nextID
        var linked: [AuditEvent] = []
        linked.reserveCapacity(events.count)
        for var e in events {
            let head = heads[e.chain] ?? .empty
            if after[e.chain] == nil { after[e.chain] = head }
            e.id = id
            e.seq = head.seq + 1
            e.prev = head.hash
            e.hash = e.computeHash()
            linked.append(e)
            heads[e.chain] = ChainHead(seq: e.seq, hash: e.hash)
            id += 1
        }
        return (LinkedBatch(events: linked, after: after, firstID: tips.nextID), ChainTips(heads: heads, nextID: id))
    }

    /// The tips after `stored` was appended on top of what was known.
    static func tips(_ known: ChainTips, after stored: [AuditEvent]) -> ChainTips {
        var tips = known
        for e in stored {
            tips.heads[e.chain] = ChainHead(seq: e.seq, hash: e.hash)
            tips.nextID = max(tips.nextID, e.id + 1)
        }
        return tips
    }
}

// MARK: - Checkpoints

extension AuditLog {
    /// Signs the chain's head, so a verifier holding only the public key can trust it; nil for an empty chain.
    @discardableResult
    public func checkpoint(chain: Int, key: Curve25519.Signing.PrivateKey, now: Date) async throws(StoreError) -> Checkpoint? {
        guard let head = try await store.head(chain: chain) else { return nil }
        let micros = Int64((now.timeIntervalSince1970 * 1_000_000).rounded())
        let mark: Checkpoint
        do {
            mark = try Checkpoint.sign(chain: chain, seq: head.seq, eventID: head.id, head: head.hash, timeMicros: micros, key: key)
        } catch {
            throw .sql("could not sign a checkpoint: \(error)")
        }
        try await store.addCheckpoint(mark, routes: routes)
        return mark
    }

    /// Verifies chains as an auditor would: every link, every checkpoint signature, every named recording.
    public func verify(ticket: Int?, publicKey: Curve25519.Signing.PublicKey, allowUnsignedChains: Bool,
                       recording: @escaping (String) -> Data?) async throws(StoreError) -> ChainVerifier.Report {
        let events = if let ticket { try await store.events(ticketID: ticket) } else { try await store.allEvents() }
        let marks = try await store.checkpoints(chain: ticket)
        return ChainVerifier(publicKey: publicKey, allowUnsignedChains: allowUnsignedChains, recording: recording)
            .verify(events: events, checkpoints: marks)
    }
}
