import Foundation
import TandemAudit

// MARK: - Events: the hash-chained audit log

extension Store {
    /// Appends one event to its ticket's chain; it is durable (WAL, synchronous=FULL) when this returns.
    @discardableResult
    public func append(_ event: Event) throws(StoreError) -> AuditEvent {
        try transaction { c throws(StoreError) in try Self.link(event, on: c) }
    }

    /// Appends events in order in one transaction (one flush): all of them are durable, or none.
    public func append(contentsOf events: [Event]) throws(StoreError) -> [AuditEvent] {
        try transaction { c throws(StoreError) in
            var linked: [AuditEvent] = []
            linked.reserveCapacity(events.count)
            for event in events { linked.append(try Self.link(event, on: c)) }
            return linked
        }
    }

    private static func link(_ event: Event, on c: SQLiteConnection) throws(StoreError) -> AuditEvent {
        let chain = event.ticketID ?? 0
        let micros = Int64((event.time.timeIntervalSince1970 * 1_000_000).rounded())
        let last = try c.query("SELECT seq, hash FROM events WHERE chain = ? ORDER BY seq DESC LIMIT 1", [.int(Int64(chain))]).first
        let nextID = (try c.query("SELECT COALESCE(MAX(id), 0) + 1 FROM events").first?.first?.int) ?? 1
        var linked = AuditEvent(id: nextID, chain: chain, seq: (last?[0].int ?? 0) + 1, timeMicros: micros,
                                session: event.sessionID, actor: event.actor, kind: event.kind, data: event.data,
                                prev: last?[1].text ?? AuditEvent.genesis)
        linked.hash = linked.computeHash()
        let data = (try? JSONEncoder.sorted.encode(event.data)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        try c.query("""
            INSERT INTO events(id, chain, seq, time_us, session_id, actor, kind, data, prev, hash)
            VALUES(?,?,?,?,?,?,?,?,?,?)
            """, [.int(linked.id), .int(Int64(chain)), .int(linked.seq), .int(micros), event.sessionID.map(SQLValue.text) ?? .null,
                  .text(event.actor), .text(event.kind), .text(data), .text(linked.prev), .text(linked.hash)])
        return linked
    }

    /// A ticket's whole chain, oldest first.
    public func events(ticketID: Int) throws(StoreError) -> [AuditEvent] {
        try run { c throws(StoreError) in
            try c.query("\(Self.eventColumns) WHERE chain = ? ORDER BY seq", [.int(Int64(ticketID))]).map(Self.event)
        }
    }

    /// Every chain's events (`tandemd check`).
    public func allEvents() throws(StoreError) -> [AuditEvent] {
        try run { c throws(StoreError) in
            try c.query("\(Self.eventColumns) ORDER BY chain, seq").map(Self.event)
        }
    }

    public func events(sessionID: String) throws(StoreError) -> [AuditEvent] {
        try run { c throws(StoreError) in
            try c.query("\(Self.eventColumns) WHERE session_id = ? ORDER BY id", [.text(sessionID)]).map(Self.event)
        }
    }

    private static let eventColumns = "SELECT id, chain, seq, time_us, session_id, actor, kind, data, prev, hash FROM events"

    private static func event(_ row: [SQLValue]) -> AuditEvent {
        // Undecodable data must still fail verification, not vanish: keep it under a marker key.
        let text = row[7].text ?? ""
        let data = (try? JSONDecoder().decode([String: String].self, from: Data(text.utf8))) ?? ["<undecodable>": text]
        return AuditEvent(id: row[0].int ?? 0, chain: Int(row[1].int ?? 0), seq: row[2].int ?? 0, timeMicros: row[3].int ?? 0,
                          session: row[4].text, actor: row[5].text ?? "", kind: row[6].text ?? "", data: data,
                          prev: row[8].text ?? "", hash: row[9].text ?? "")
    }
}

// MARK: - Checkpoints

extension Store {
    public func addCheckpoint(_ c: Checkpoint) throws(StoreError) {
        try run { conn throws(StoreError) in
            try conn.query("INSERT INTO checkpoints(chain, seq, event_id, head, time_us, signature) VALUES(?,?,?,?,?,?)",
                           [.int(Int64(c.chain)), .int(c.seq), .int(c.eventID), .text(c.head), .int(c.timeMicros), .text(c.signature)])
        }
    }

    public func checkpoints(chain: Int? = nil) throws(StoreError) -> [Checkpoint] {
        try run { conn throws(StoreError) in
            let sql = "SELECT id, chain, seq, event_id, head, time_us, signature FROM checkpoints"
            let rows: [[SQLValue]]
            if let chain {
                rows = try conn.query(sql + " WHERE chain = ? ORDER BY seq", [.int(Int64(chain))])
            } else {
                rows = try conn.query(sql + " ORDER BY id")
            }
            return rows.map {
                Checkpoint(id: $0[0].int ?? 0, chain: Int($0[1].int ?? 0), seq: $0[2].int ?? 0, eventID: $0[3].int ?? 0,
                           head: $0[4].text ?? "", timeMicros: $0[5].int ?? 0, signature: $0[6].text ?? "")
            }
        }
    }

    /// Chains whose newest event is not yet covered by a checkpoint.
    public func unsignedChains() throws(StoreError) -> [Int] {
        try run { c throws(StoreError) in
            try c.query("SELECT e.chain FROM (SELECT chain, MAX(seq) AS seq FROM events GROUP BY chain) e "
                        + "LEFT JOIN (SELECT chain, MAX(seq) AS seq FROM checkpoints GROUP BY chain) k ON k.chain = e.chain "
                        + "WHERE k.seq IS NULL OR k.seq < e.seq").compactMap { $0[0].int.map { Int($0) } }
        }
    }

    /// The newest event of a chain (what a checkpoint signs).
    public func head(chain: Int) throws(StoreError) -> AuditEvent? {
        try run { c throws(StoreError) in
            try c.query("\(Self.eventColumns) WHERE chain = ? ORDER BY seq DESC LIMIT 1", [.int(Int64(chain))]).first.map(Self.event)
        }
    }
}
