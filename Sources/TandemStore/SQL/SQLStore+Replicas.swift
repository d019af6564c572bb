import Foundation
import SQLKit

// MARK: - Replicas (PostgreSQL only)

extension SQLStore: ReplicaRegistry {
    public func serve(as replica: String) {
        self.replica.withLock { $0 = replica }
    }

    public func registerReplica(id: String, peerAddress: String, partsFolder: String?) async throws(StoreError) {
        try requirePostgres()
        try await read { db in
            try await db.raw("""
                INSERT INTO replicas(id, peer_address, parts_folder) VALUES(\(bind: id), \(bind: peerAddress), \(bind: partsFolder))
                """).run()
        }
    }

    public func orphanedPartsFolder(of replica: String) async throws(StoreError) -> String? {
        try requirePostgres()
        return try await read { db in
            try await db.raw("""
                SELECT r.parts_folder FROM replicas r
                WHERE r.id = \(bind: replica) AND r.state <> 'live' AND r.parts_folder IS NOT NULL
                  AND NOT EXISTS (SELECT 1 FROM replicas o WHERE o.parts_folder = r.parts_folder AND o.state = 'live')
                """).first()?.decode(column: "parts_folder", as: String?.self)
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

    public func offerIfStillMine(session: String, replica: String) async throws(StoreError) -> Bool {
        try requirePostgres()
        return try await read { db in
            try await db.raw("""
                UPDATE sessions SET state = 'offered'
                WHERE id = \(bind: session) AND state = 'pending' AND owner_replica = \(bind: replica)
                RETURNING id
                """).first() != nil
        }
    }

    public func endLeftovers(by me: String) async throws(StoreError) -> [SessionRecord] {
        try requirePostgres()
        return try await read { db in
            try await db.raw("""
                UPDATE sessions s SET state = 'ended', owner_replica = \(bind: me),
                    end_reason = CASE WHEN r.state = 'lost' THEN 'broker replica lost' ELSE 'broker stopping' END
                FROM replicas r
                WHERE s.owner_replica = r.id AND r.state IN ('stopped', 'lost')
                  AND s.state IN ('pending', 'offered', 'approved', 'active')
                RETURNING s.id, s.ticket_id, s.technician, s.scopes, s.code_hash, s.state, s.created, s.expires, s.time_limit, s.end_reason
                """).all().map(Self.session)
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

    public func askToEnd(session: String, reason: String, actor: String) async throws(StoreError) {
        try requirePostgres()
        try await read { db in
            try await db.raw("""
                INSERT INTO end_requests(session_id, reason, actor) VALUES(\(bind: session), \(bind: reason), \(bind: actor))
                ON CONFLICT (session_id) DO NOTHING
                """).run()
        }
    }

    public func takeEndRequests(for replica: String) async throws(StoreError) -> [EndRequest] {
        try requirePostgres()
        return try await read { db in
            try await db.raw("""
                DELETE FROM end_requests e USING sessions s
                WHERE e.session_id = s.id
                  AND (s.owner_replica = \(bind: replica) OR s.state NOT IN ('pending', 'offered', 'approved', 'active'))
                RETURNING e.session_id, e.reason, e.actor, s.owner_replica = \(bind: replica) AND s.state IN ('pending', 'offered', 'approved', 'active') AS mine
                """).all().compactMap { row in
                    guard try row.decode(column: "mine", as: Bool?.self) == true else { return nil }
                    return EndRequest(session: try row.decode(column: "session_id", as: String.self),
                                      reason: try row.decode(column: "reason", as: String.self),
                                      actor: try row.decode(column: "actor", as: String.self))
                }
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

    public func lead(_ job: ReplicaJob) async -> Bool {
        guard case .postgres(let client) = engine else { return true }
        let key = job.rawValue
        if leases.withLock({ $0.held.contains(key) }) { return true }
        let answer = AsyncStream<Bool>.makeStream()
        let holder = Task { [weak self] in
            do {
                try await client.withConnection { connection in
                    let got = try await connection.sql().raw(
                        "SELECT pg_try_advisory_lock(\(bind: Self.chainLockSpace), \(bind: key)) AS got").first()?
                        .decode(column: "got", as: Bool.self) ?? false
                    guard got else {
                        answer.continuation.yield(false)
                        return
                    }
                    self?.leases.withLock { _ = $0.held.insert(key) }
                    answer.continuation.yield(true)
                    // Held until the store closes; a connection that broke has lost the lock with it.
                    defer { self?.leases.withLock { _ = $0.held.remove(key) } }
                    while !Task.isCancelled {
                        do { try await Task.sleep(for: .seconds(2)) } catch { break }
                        try await connection.sql().raw("SELECT 1").run()
                    }
                    try? await connection.sql().raw("SELECT pg_advisory_unlock(\(bind: Self.chainLockSpace), \(bind: key))").run()
                }
            } catch {
                answer.continuation.yield(false)
            }
            answer.continuation.finish()
        }
        var iterator = answer.stream.makeAsyncIterator()
        let got = await iterator.next() ?? false
        if got { leases.withLock { $0.holders.append(holder) } }
        return got
    }

    func releaseLeases() async {
        let holders = leases.withLock { l -> [Task<Void, Never>] in defer { l.holders = [] }; return l.holders }
        for holder in holders { holder.cancel() }
        for holder in holders { await holder.value }
    }

    private func requirePostgres() throws(StoreError) {
        guard isPostgres else { throw .sql("several brokers need PostgreSQL; a SQLite database serves one broker") }
    }
}
