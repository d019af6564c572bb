import Foundation
import SQLKit

// MARK: - Replicas (PostgreSQL only)

extension SQLStore: ReplicaRegistry {
    public func serve(as replica: String) {
        self.replica.withLock { $0 = replica }
    }

    public func registerReplica(id: String, peerAddress: String) async throws(StoreError) {
        try requirePostgres()
        try await read { db in
            try await db.raw("""
                INSERT INTO replicas(id, peer_address) VALUES(\(bind: id), \(bind: peerAddress))
                """).run()
        }
    }

    public func retireReplica(id: String, state: String) async throws(StoreError) {
        try requirePostgres()
        try await read { db in
            try await db.raw("UPDATE replicas SET state = \(bind: state) WHERE id = \(bind: id)").run()
        }
    }

    public func liveReplicaAddress(id: String) async throws(StoreError) -> String? {
        try requirePostgres()
        return try await read { db in
            try await db.raw("SELECT peer_address FROM replicas WHERE id = \(bind: id) AND state = 'live'").first()?
                .decode(column: "peer_address", as: String.self)
        }
    }

    public func setOwner(of session: String, to replica: String) async throws(StoreError) {
        try requirePostgres()
        try await read { db in
            try await db.raw("UPDATE sessions SET owner_replica = \(bind: replica) WHERE id = \(bind: session)").run()
        }
    }

    public func owner(of session: String) async throws(StoreError) -> String? {
        try requirePostgres()
        return try await read { db in
            try await db.raw("SELECT owner_replica FROM sessions WHERE id = \(bind: session)").first()?
                .decode(column: "owner_replica", as: String?.self)
        }
    }

    public func takeOver(codeHash: String, replica: String, now: Date) async throws(StoreError) -> SessionRecord? {
        try requirePostgres()
        return try await read { db in
            try await db.raw("""
                UPDATE sessions SET state = 'offered', owner_replica = \(bind: replica)
                WHERE code_hash = \(bind: codeHash) AND state = 'pending' AND expires > \(bind: now.timeIntervalSince1970)
                RETURNING id, ticket_id, technician, scopes, code_hash, state, created, expires, time_limit, end_reason
                """).first().map(Self.session)
        }
    }

    public func expireIfStillMine(session: String, replica: String) async throws(StoreError) -> Bool {
        try requirePostgres()
        return try await read { db in
            try await db.raw("""
                UPDATE sessions SET state = 'expired'
                WHERE id = \(bind: session) AND state = 'pending' AND (owner_replica IS NULL OR owner_replica = \(bind: replica))
                RETURNING id
                """).first() != nil
        }
    }

    public func heartbeat(id: String) async throws(StoreError) -> Bool {
        try requirePostgres()
        return try await read { db in
            try await db.raw("UPDATE replicas SET heartbeat_at = now() WHERE id = \(bind: id) AND state = 'live' RETURNING id").first() != nil
        }
    }

    public func declareLost(olderThan seconds: Double, except me: String) async throws(StoreError) -> [String] {
        try requirePostgres()
        return try await read { db in
            try await db.raw("""
                UPDATE replicas SET state = 'lost'
                WHERE state = 'live' AND id <> \(bind: me) AND heartbeat_at < now() - make_interval(secs => \(bind: seconds))
                RETURNING id
                """).all().map { try $0.decode(column: "id", as: String.self) }
        }
    }

    public func endSessions(of lost: String, by me: String, reason: String) async throws(StoreError) -> [SessionRecord] {
        try requirePostgres()
        return try await read { db in
            try await db.raw("""
                UPDATE sessions SET state = 'ended', end_reason = \(bind: reason), owner_replica = \(bind: me)
                WHERE owner_replica = \(bind: lost) AND state IN ('pending', 'offered', 'approved', 'active')
                RETURNING id, ticket_id, technician, scopes, code_hash, state, created, expires, time_limit, end_reason
                """).all().map(Self.session)
        }
    }

    private func requirePostgres() throws(StoreError) {
        guard isPostgres else { throw .sql("several brokers need PostgreSQL; a SQLite database serves one broker") }
    }
}
