import Foundation
import SQLKit
import TandemAudit

// MARK: - The outbox: what each sink is owed, written with the events and checkpoints it carries

extension SQLStore {
    /// Writes the outbox rows of stored events or a checkpoint, inside the caller's transaction.
    static func owe(_ items: [(chain: Int, eventID: Int64?, checkpointID: Int64?)], routes: OutboxRoutes, nowMicros: Int64,
                    _ db: any SQLDatabase) async throws {
        guard !routes.isEmpty else { return }
        let chains = Set(items.map(\.chain)).filter { $0 > 0 }
        guard !chains.isEmpty else { return }
        var externals: [Int: String] = [:]
        if !routes.helpdesks.isEmpty {
            for chain in chains {
                externals[chain] = try await db.raw("SELECT external FROM tickets WHERE id = \(bind: chain)").first()?
                    .decode(column: "external", as: String?.self)
            }
        }
        // Events of no ticket (a user added) belong to no helpdesk.
        for item in items where item.chain > 0 {
            for sink in routes.sinks(external: externals[item.chain]) {
                try await db.raw("""
                    INSERT INTO outbox(sink, chain, event_id, checkpoint_id, state, attempts, next_us, created_us)
                    VALUES(\(bind: sink), \(bind: item.chain), \(bind: item.eventID), \(bind: item.checkpointID), 'pending', 0,
                           \(bind: nowMicros), \(bind: nowMicros))
                    """).run()
            }
        }
    }

    public func dueDeliveries(sink: String, nowMicros: Int64, groups: Int, perGroup: Int) async throws(StoreError) -> [Delivery] {
        // Only groups whose oldest open row's time has come, oldest first: a helpdesk that is down and
        // backing off cannot crowd out the others.
        try await read { db in
            try await db.raw("""
                WITH heads AS (SELECT sink, chain, MIN(id) AS head FROM outbox
                               WHERE sink = \(bind: sink) AND state IN ('pending', 'sending') GROUP BY sink, chain),
                     due AS (SELECT h.sink, h.chain, h.head FROM heads h JOIN outbox o ON o.id = h.head
                             WHERE o.next_us <= \(bind: nowMicros) ORDER BY h.head LIMIT \(unsafeRaw: String(max(1, groups)))),
                     ranked AS (SELECT o.*, ROW_NUMBER() OVER (PARTITION BY o.sink, o.chain ORDER BY o.id) AS n
                                FROM outbox o JOIN due d ON o.sink = d.sink AND o.chain = d.chain
                                WHERE o.state IN ('pending', 'sending'))
                SELECT id, sink, chain, event_id, checkpoint_id, state, attempts, next_us, batch, last_error, created_us, done_us
                FROM ranked WHERE n <= \(unsafeRaw: String(max(1, perGroup))) ORDER BY id
                """).all().map(Self.delivery)
        }
    }

    public func deliveries(chain: Int) async throws(StoreError) -> [Delivery] {
        try await read { db in
            try await db.raw("\(unsafeRaw: Self.deliveryColumns) WHERE chain = \(bind: chain) ORDER BY id").all().map(Self.delivery)
        }
    }

    public func change(deliveries ids: [Int64], to change: DeliveryChange) async throws(StoreError) {
        guard !ids.isEmpty else { return }
        try await transaction { db in
            for id in ids {
                let query: SQLQueryString = switch change {
                case .sending(let batch):
                    "UPDATE outbox SET state = 'sending', batch = \(bind: batch) WHERE id = \(bind: id)"
                case .delivered(let at):
                    "UPDATE outbox SET state = 'delivered', done_us = \(bind: at), last_error = NULL WHERE id = \(bind: id)"
                case .retry(let next, let error):
                    // A post that left under a key may have arrived: its rows stay together under that
                    // key (`sending`), so the next try asks the helpdesk first and never re-groups them.
                    """
                    UPDATE outbox SET state = CASE WHEN batch IS NULL THEN 'pending' ELSE 'sending' END, attempts = attempts + 1,
                           next_us = \(bind: next), last_error = \(bind: error)
                    WHERE id = \(bind: id)
                    """
                case .failed(let at, let error):
                    """
                    UPDATE outbox SET state = 'failed', attempts = attempts + 1, done_us = \(bind: at), last_error = \(bind: error)
                    WHERE id = \(bind: id)
                    """
                }
                try await db.raw(query).run()
            }
        }
    }

    public func retryFailed(chain: Int, nowMicros: Int64) async throws(StoreError) -> Int {
        try await transaction { db in
            let n = try await db.raw("SELECT COUNT(*) AS n FROM outbox WHERE chain = \(bind: chain) AND state = 'failed'").first()?
                .decode(column: "n", as: Int.self) ?? 0
            // Rows that never left get a fresh post; rows that left under a key keep it, so the helpdesk
            // is asked whether it holds that post before it is sent again.
            try await db.raw("""
                UPDATE outbox SET state = CASE WHEN batch IS NULL THEN 'pending' ELSE 'sending' END, attempts = 0,
                       next_us = \(bind: nowMicros), done_us = NULL
                WHERE chain = \(bind: chain) AND state = 'failed'
                """).run()
            return n
        }
    }

    public func deliveryCounts() async throws(StoreError) -> [String: [DeliveryState: Int]] {
        try await read { db in
            var counts: [String: [DeliveryState: Int]] = [:]
            for row in try await db.raw("SELECT sink, state, COUNT(*) AS n FROM outbox GROUP BY sink, state").all() {
                guard let state = DeliveryState(rawValue: try row.decode(column: "state", as: String.self)) else { continue }
                counts[try row.decode(column: "sink", as: String.self), default: [:]][state] = try row.decode(column: "n", as: Int.self)
            }
            return counts
        }
    }

    public func events(ids: [Int64]) async throws(StoreError) -> [AuditEvent] {
        guard !ids.isEmpty else { return [] }
        return try await read { db in
            var found: [AuditEvent] = []
            for id in ids {
                if let e = try await db.raw("\(unsafeRaw: Self.eventColumns) WHERE id = \(bind: id)").first().map(Self.event) { found.append(e) }
            }
            return found
        }
    }

    public func checkpoint(id: Int64) async throws(StoreError) -> Checkpoint? {
        try await read { db in try await db.raw("\(unsafeRaw: Self.checkpointColumns) WHERE id = \(bind: id)").first().map(Self.checkpoint) }
    }

    static let deliveryColumns = """
        SELECT id, sink, chain, event_id, checkpoint_id, state, attempts, next_us, batch, last_error, created_us, done_us FROM outbox
        """

    static func delivery(_ row: any SQLRow) throws -> Delivery {
        Delivery(id: try row.decode(column: "id", as: Int64.self), sink: try row.decode(column: "sink", as: String.self),
                 chain: try row.decode(column: "chain", as: Int.self), eventID: try row.decode(column: "event_id", as: Int64?.self),
                 checkpointID: try row.decode(column: "checkpoint_id", as: Int64?.self),
                 state: DeliveryState(rawValue: try row.decode(column: "state", as: String.self)) ?? .failed,
                 attempts: try row.decode(column: "attempts", as: Int.self), nextMicros: try row.decode(column: "next_us", as: Int64.self),
                 batch: try row.decode(column: "batch", as: String?.self), lastError: try row.decode(column: "last_error", as: String?.self),
                 createdMicros: try row.decode(column: "created_us", as: Int64.self), doneMicros: try row.decode(column: "done_us", as: Int64?.self))
    }
}
