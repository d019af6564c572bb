import Foundation
import SQLKit
import TandemCore

// MARK: - Sessions

extension SQLStore {
    public func createSession(_ s: SessionRecord) async throws(StoreError) {
        try await read { db in
            try await db.raw("""
                INSERT INTO sessions(id, ticket_id, technician, scopes, code_hash, state, created, expires, time_limit)
                VALUES(\(bind: s.id.rawValue), \(bind: s.ticketID), \(bind: s.technician), \(bind: s.scopes.map(\.rawValue).joined(separator: ",")),
                       \(bind: s.codeHash), \(bind: s.state.rawValue), \(bind: s.created.timeIntervalSince1970),
                       \(bind: s.expires.timeIntervalSince1970), \(bind: s.timeLimitSeconds))
                """).run()
        }
    }

    public func session(id: SessionID) async throws(StoreError) -> SessionRecord? {
        try await read { db in try await db.raw("\(unsafeRaw: Self.sessionColumns) WHERE id = \(bind: id.rawValue)").first().map(Self.session) }
    }

    public func session(codeHash: String) async throws(StoreError) -> SessionRecord? {
        try await read { db in try await db.raw("\(unsafeRaw: Self.sessionColumns) WHERE code_hash = \(bind: codeHash)").first().map(Self.session) }
    }

    public func updateSession(_ id: SessionID, state: SessionLifecycle.State, endReason: String?) async throws(StoreError) {
        // Among replicas, a session another replica took over is no longer this one's to change.
        let me = replica.withLock { $0 }
        try await read { db in
            if let me {
                try await db.raw("""
                    UPDATE sessions SET state = \(bind: state.rawValue), end_reason = COALESCE(\(bind: endReason), end_reason)
                    WHERE id = \(bind: id.rawValue) AND (owner_replica IS NULL OR owner_replica = \(bind: me))
                    """).run()
            } else if let endReason {
                try await db.raw("UPDATE sessions SET state = \(bind: state.rawValue), end_reason = \(bind: endReason) WHERE id = \(bind: id.rawValue)").run()
            } else {
                try await db.raw("UPDATE sessions SET state = \(bind: state.rawValue) WHERE id = \(bind: id.rawValue)").run()
            }
        }
    }

    /// Sessions a previous broker process left open; they cannot resume, so they end.
    public func openSessions() async throws(StoreError) -> [SessionRecord] {
        try await read { db in
            try await db.raw("\(unsafeRaw: Self.sessionColumns) WHERE state IN ('pending','offered','approved','active') ORDER BY created").all().map(Self.session)
        }
    }

    static let sessionColumns =
        "SELECT id, ticket_id, technician, scopes, code_hash, state, created, expires, time_limit, end_reason FROM sessions"

    static func session(_ row: any SQLRow) throws -> SessionRecord {
        SessionRecord(
            id: SessionID(rawValue: try row.decode(column: "id", as: String.self)), ticketID: try row.decode(column: "ticket_id", as: Int.self),
            technician: try row.decode(column: "technician", as: String.self),
            scopes: try row.decode(column: "scopes", as: String.self).split(separator: ",").compactMap { Scope(rawValue: String($0)) },
            codeHash: try row.decode(column: "code_hash", as: String.self),
            state: SessionLifecycle.State(rawValue: try row.decode(column: "state", as: String.self)) ?? .expired,
            created: Date(timeIntervalSince1970: try row.decode(column: "created", as: Double.self)),
            expires: Date(timeIntervalSince1970: try row.decode(column: "expires", as: Double.self)),
            timeLimitSeconds: try row.decode(column: "time_limit", as: Int.self), endReason: try row.decode(column: "end_reason", as: String?.self))
    }
}
