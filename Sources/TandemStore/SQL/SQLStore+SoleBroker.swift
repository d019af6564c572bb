import Foundation
import Glibc
import PostgresKit
import SQLKit
import Synchronization

// MARK: - One broker per database

/// What holds the claim: a lock file (SQLite) or a session advisory lock on a held connection (PostgreSQL).
enum SoleBrokerClaim: Sendable {
    case file(Int32)
    /// The task holding the connection, and what tells it to unlock and give the connection back.
    case connection(Task<Void, Never>, AsyncStream<Void>.Continuation)
}

extension SQLStore {
    /// Claims the database for this process until `close`: a second broker (or `tandemd migrate`)
    /// on the same database is refused, since each broker ends the sessions it finds left open
    /// and keeps its live sessions and guess counts in memory.
    /// `asReplica`: one of several brokers on one PostgreSQL database. Replicas share the claim,
    /// and a broker alone (or `tandemd migrate`) is refused while any replica holds it, and the
    /// other way round: a broker alone ends every session it finds open at start.
    public func claimSoleBroker(asReplica: Bool = false) async throws(StoreError) {
        switch engine {
        case .sqlite:
            let fd = Glibc.open(location + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw .cannotOpen(path: location + ".lock", reason: String(cString: strerror(errno))) }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                Glibc.close(fd)
                throw .constraint("another broker (or tandemd migrate) is using \(location); stop it first")
            }
            claim.withLock { $0 = .file(fd) }
        case .postgres(let client):
            let answer = AsyncStream<Result<Bool, any Error>>.makeStream()
            let release = AsyncStream<Void>.makeStream()
            let holder = Task {
                do {
                    try await client.withConnection { connection in
                        // Session-level: held for as long as this connection lives, released if the process dies.
                        let got = try await connection.sql().raw(asReplica
                            ? "SELECT pg_try_advisory_lock_shared(\(bind: Self.chainLockSpace), \(bind: Int32(-1))) AS got"
                            : "SELECT pg_try_advisory_lock(\(bind: Self.chainLockSpace), \(bind: Int32(-1))) AS got").first()?
                            .decode(column: "got", as: Bool.self) ?? false
                        answer.continuation.yield(.success(got))
                        guard got else { return }
                        for await _ in release.stream {}
                        // The connection goes back to the pool: the lock must not go with it.
                        try await connection.sql().raw(asReplica
                            ? "SELECT pg_advisory_unlock_shared(\(bind: Self.chainLockSpace), \(bind: Int32(-1)))"
                            : "SELECT pg_advisory_unlock(\(bind: Self.chainLockSpace), \(bind: Int32(-1)))").run()
                    }
                } catch {
                    answer.continuation.yield(.failure(error))
                }
                answer.continuation.finish()
            }
            var iterator = answer.stream.makeAsyncIterator()
            switch await iterator.next() {
            case .success(true):
                claim.withLock { $0 = .connection(holder, release.continuation) }
            case .success(false):
                throw .constraint(asReplica
                    ? "a broker that is not a replica (no peer-listen), or tandemd migrate, is using \(location); stop it first"
                    : "another broker (or tandemd migrate, or a replica with peer-listen) is using \(location); stop it first")
            case .failure(let error):
                throw Self.classify(error)
            case nil:
                // Cancelled while waiting: the holder must not keep a lock nobody will release.
                release.continuation.finish()
                holder.cancel()
                throw .sql("the claim on \(location) ended before it was answered")
            }
        }
    }

    func releaseSoleBrokerClaim() async {
        switch claim.withLock({ c -> SoleBrokerClaim? in defer { c = nil }; return c }) {
        case .file(let fd):
            Glibc.close(fd)
        case .connection(let holder, let release):
            release.finish()
            await holder.value
        case nil:
            break
        }
    }
}
