import SQLKit

// MARK: - Replicas (PostgreSQL only)

extension SQLStore: ReplicaRegistry {
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

    private func requirePostgres() throws(StoreError) {
        guard isPostgres else { throw .sql("several brokers need PostgreSQL; a SQLite database serves one broker") }
    }
}
