import Foundation
import SQLKit
import TandemAudit

// MARK: - The audit chains: one atomic append, and reads

extension SQLStore {
    public func chainTips(_ chains: Set<Int>) async throws(StoreError) -> ChainTips {
        try await read { db in
            var heads: [Int: ChainHead] = [:]
            for chain in chains {
                heads[chain] = try await Self.head(of: chain, db) ?? .empty
            }
            let next = try await db.raw("SELECT COALESCE(MAX(id), 0) + 1 AS next FROM events").first()?.decode(column: "next", as: Int64.self) ?? 1
            return ChainTips(heads: heads, nextID: next)
        }
    }

    public func append(_ batch: LinkedBatch) async throws(StoreError) -> AppendOutcome {
        let postgres = isPostgres
        do {
            return try await transaction { db in
                if postgres {
                    // Appends queue here, whichever process writes: ids are global and must rise with every
                    // chain's sequence, so one lock for all chains (a batch is one short transaction).
                    try await db.raw("SELECT pg_advisory_xact_lock(\(bind: Self.chainLockSpace), \(bind: Int32(0)))").run()
                }
                // Nothing written yet: a batch linked after an old head commits nothing, or is linked
                // again here, where no other writer can move the heads until the commit.
                var heads: [Int: ChainHead] = [:]
                for chain in batch.after.keys { heads[chain] = try await Self.head(of: chain, db) ?? .empty }
                let next = try await db.raw("SELECT COALESCE(MAX(id), 0) + 1 AS next FROM events").first()?.decode(column: "next", as: Int64.self) ?? 1
                var batch = batch
                var relinked = false
                if heads != batch.after || next > batch.firstID {
                    guard batch.relinkIfMoved else { return .moved }
                    let events = AuditLog.link(batch.events, tips: ChainTips(heads: heads, nextID: next)).0.events
                    batch.events = events
                    relinked = true
                }
                for e in batch.events {
                    let data = String(decoding: (try? JSONEncoder.sortedKeys.encode(e.data)) ?? Data("{}".utf8), as: UTF8.self)
                    try await db.raw("""
                        INSERT INTO events(id, chain, seq, time_us, session_id, actor, kind, data, prev, hash)
                        VALUES(\(bind: e.id), \(bind: e.chain), \(bind: e.seq), \(bind: e.timeMicros), \(bind: e.session), \(bind: e.actor),
                               \(bind: e.kind), \(bind: data), \(bind: e.prev), \(bind: e.hash))
                        """).run()
                }
                // The outbox rows in the same transaction: an event stored is an event owed to its sinks.
                try await Self.owe(batch.events.map { ($0.chain, $0.id, nil) }, routes: batch.routes,
                                   nowMicros: batch.events.last?.timeMicros ?? 0, db)
                return relinked ? .relinked(batch.events) : .appended
            }
        } catch .constraint {
            // Another writer took an id or a sequence number between our check and our insert.
            return .moved
        }
    }

    public func events(ticketID: Int) async throws(StoreError) -> [AuditEvent] {
        try await read { db in try await db.raw("\(unsafeRaw: Self.eventColumns) WHERE chain = \(bind: ticketID) ORDER BY seq").all().map(Self.event) }
    }

    public func events(sessionID: String) async throws(StoreError) -> [AuditEvent] {
        try await read { db in try await db.raw("\(unsafeRaw: Self.eventColumns) WHERE session_id = \(bind: sessionID) ORDER BY id").all().map(Self.event) }
    }

    public func allEvents() async throws(StoreError) -> [AuditEvent] {
        try await read { db in try await db.raw("\(unsafeRaw: Self.eventColumns) ORDER BY chain, seq").all().map(Self.event) }
    }

    public func head(chain: Int) async throws(StoreError) -> AuditEvent? {
        try await read { db in
            try await db.raw("\(unsafeRaw: Self.eventColumns) WHERE chain = \(bind: chain) ORDER BY seq DESC LIMIT 1").first().map(Self.event)
        }
    }

    private static func head(of chain: Int, _ db: any SQLDatabase) async throws -> ChainHead? {
        guard let row = try await db.raw("SELECT seq, hash FROM events WHERE chain = \(bind: chain) ORDER BY seq DESC LIMIT 1").first() else {
            return nil
        }
        return ChainHead(seq: try row.decode(column: "seq", as: Int64.self), hash: try row.decode(column: "hash", as: String.self))
    }

    /// The first key of Tandem's two-key advisory locks ("tand"): (space, 0) serialises appends,
    /// (space, -1) is held by the one broker using the database.
    static let chainLockSpace: Int32 = 0x74616E64

    static let eventColumns = "SELECT id, chain, seq, time_us, session_id, actor, kind, data, prev, hash FROM events"
    static let checkpointColumns = "SELECT id, chain, seq, event_id, head, time_us, signature FROM checkpoints"

    static func event(_ row: any SQLRow) throws -> AuditEvent {
        // Undecodable data must still fail verification, not vanish: keep it under a marker key.
        let text = try row.decode(column: "data", as: String.self)
        let data = (try? JSONDecoder().decode([String: String].self, from: Data(text.utf8))) ?? ["<undecodable>": text]
        return AuditEvent(id: try row.decode(column: "id", as: Int64.self), chain: try row.decode(column: "chain", as: Int.self),
                          seq: try row.decode(column: "seq", as: Int64.self), timeMicros: try row.decode(column: "time_us", as: Int64.self),
                          session: try row.decode(column: "session_id", as: String?.self), actor: try row.decode(column: "actor", as: String.self),
                          kind: try row.decode(column: "kind", as: String.self), data: data,
                          prev: try row.decode(column: "prev", as: String.self), hash: try row.decode(column: "hash", as: String.self))
    }
}

// MARK: - Checkpoints

extension SQLStore {
    public func addCheckpoint(_ c: Checkpoint, routes: OutboxRoutes) async throws(StoreError) {
        let postgres = isPostgres
        try await transaction { db in
            // In line with the appends: a checkpoint's outbox row must not commit under an id lower
            // than the rows of events committed before it, or a worker would post it out of order.
            if postgres, !routes.isEmpty {
                try await db.raw("SELECT pg_advisory_xact_lock(\(bind: Self.chainLockSpace), \(bind: Int32(0)))").run()
            }
            let id = try await db.raw("""
                INSERT INTO checkpoints(chain, seq, event_id, head, time_us, signature)
                VALUES(\(bind: c.chain), \(bind: c.seq), \(bind: c.eventID), \(bind: c.head), \(bind: c.timeMicros), \(bind: c.signature))
                RETURNING id
                """).first()?.decode(column: "id", as: Int64.self)
            if let id { try await Self.owe([(c.chain, nil, id)], routes: routes, nowMicros: c.timeMicros, db) }
        }
    }

    public func checkpoints(chain: Int?) async throws(StoreError) -> [Checkpoint] {
        try await read { db in
            let rows = if let chain {
                try await db.raw("\(unsafeRaw: Self.checkpointColumns) WHERE chain = \(bind: chain) ORDER BY seq").all()
            } else {
                try await db.raw("\(unsafeRaw: Self.checkpointColumns) ORDER BY id").all()
            }
            return try rows.map(Self.checkpoint)
        }
    }

    static func checkpoint(_ row: any SQLRow) throws -> Checkpoint {
        Checkpoint(id: try row.decode(column: "id", as: Int64.self), chain: try row.decode(column: "chain", as: Int.self),
                   seq: try row.decode(column: "seq", as: Int64.self), eventID: try row.decode(column: "event_id", as: Int64.self),
                   head: try row.decode(column: "head", as: String.self), timeMicros: try row.decode(column: "time_us", as: Int64.self),
                   signature: try row.decode(column: "signature", as: String.self))
    }

    /// Chains whose newest event is not yet covered by a checkpoint.
    public func unsignedChains() async throws(StoreError) -> [Int] {
        try await read { db in
            try await db.raw("""
                SELECT e.chain AS chain FROM (SELECT chain, MAX(seq) AS seq FROM events GROUP BY chain) e
                LEFT JOIN (SELECT chain, MAX(seq) AS seq FROM checkpoints GROUP BY chain) k ON k.chain = e.chain
                WHERE k.seq IS NULL OR k.seq < e.seq ORDER BY e.chain
                """).all().map { try $0.decode(column: "chain", as: Int.self) }
        }
    }

    public func checkIntegrity(full: Bool) async throws(StoreError) {
        if isPostgres {
            try await read { db in try await db.raw("SELECT 1").run() }
            return
        }
        let report = try await read { db in
            try await db.raw(SQLQueryString(full ? "PRAGMA integrity_check" : "PRAGMA quick_check")).all()
                .compactMap { try? $0.decode(column: full ? "integrity_check" : "quick_check", as: String.self) }.joined(separator: "; ")
        }
        guard report == "ok" else { throw .damaged(path: location, report: report) }
    }

    /// SQLite's durability settings as the connection reports them (`synchronous` 2 is FULL).
    public func sqliteSettings() async throws(StoreError) -> (journalMode: String, synchronous: Int) {
        try await read { db in
            let mode = try await db.raw("PRAGMA journal_mode").first()?.decode(column: "journal_mode", as: String.self) ?? ""
            let sync = try await db.raw("PRAGMA synchronous").first()?.decode(column: "synchronous", as: Int.self) ?? -1
            return (mode, sync)
        }
    }
}

extension JSONEncoder {
    /// Sorted keys, no escaped slashes: the stored `data` text (the hash does not depend on it).
    static var sortedKeys: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }
}
