import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresKit
import SQLKit
import SQLiteKit
import Synchronization
import TandemAudit

/// The broker's store over SQLKit: one implementation, two engines.
///
/// SQLite (the embedded default): one connection, WAL and synchronous=FULL, its calls on NIO's
/// thread pool, one transaction at a time. PostgreSQL: a `PostgresClient` pool; a commit is the
/// acknowledgement, and appends to a chain serialise on a transaction-scoped advisory lock.
public final class SQLStore: BrokerStore {
    enum Engine: Sendable {
        case sqlite(SQLiteConnection, AsyncLock)
        case postgres(PostgresClient)
    }

    let engine: Engine
    public let location: String
    private let runner: Task<Void, Never>?
    /// Set by `close`: later calls fail instead of touching a closed connection.
    private let closed = Mutex(false)
    /// Holds the "one broker per database" claim while the broker runs (`claimSoleBroker`).
    let claim = Mutex<SoleBrokerClaim?>(nil)
    /// Set when this store serves one of several brokers (`ReplicaRegistry.serve(as:)`): its
    /// session state writes then touch only sessions this replica owns.
    let replica = Mutex<String?>(nil)
    /// Jobs this replica leads (`lead`), and the tasks holding their locks.
    let leases = Mutex<(held: Set<Int32>, holders: [Task<Void, Never>])>(([], []))

    private init(engine: Engine, location: String, runner: Task<Void, Never>? = nil) {
        self.engine = engine
        self.location = location
        self.runner = runner
    }

    public var isPostgres: Bool {
        if case .postgres = engine { return true } else { return false }
    }

    /// Opens (and creates or upgrades) a SQLite file.
    public static func sqlite(path: String, logger: Logger = Logger(label: "tandem.store")) async throws(StoreError) -> SQLStore {
        let connection: SQLiteConnection
        do {
            connection = try await SQLiteConnection.open(storage: .file(path: path), threadPool: .singleton, logger: logger,
                                                         on: MultiThreadedEventLoopGroup.singleton.any()).get()
        } catch {
            throw .cannotOpen(path: path, reason: "\(classify(error))")
        }
        let store = SQLStore(engine: .sqlite(connection, AsyncLock()), location: path)
        do {
            try await store.read { db in
                // Durable before acknowledged: a commit returns once the WAL is on disk.
                for pragma in ["PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON", "PRAGMA busy_timeout=5000"] {
                    try await db.raw(SQLQueryString(pragma)).run()
                }
            }
            try await Schema.apply(to: store)
        } catch {
            await store.close()
            throw error
        }
        return store
    }

    /// Connects to PostgreSQL (`postgres://user@host:port/db`, `?sslmode=disable|prefer|require`);
    /// the password comes from the URL or `password`, never from a log line.
    public static func postgres(url: String, password: String? = nil, connectTimeout: Duration = .seconds(10),
                                logger: Logger = Logger(label: "tandem.store")) async throws(StoreError) -> SQLStore {
        let config: SQLPostgresConfiguration
        do {
            config = try SQLPostgresConfiguration(url: url)
        } catch {
            throw .cannotOpen(path: redacted(url), reason: "not a postgres:// URL (postgres://USER@HOST:PORT/DATABASE)")
        }
        let core = config.coreConfiguration
        guard let host = core.host else { throw .cannotOpen(path: redacted(url), reason: "the URL names no host") }
        // TLS with the server's certificate verified, unless the URL says otherwise; a server on
        // this machine may also be reached without it (`prefer`).
        let loopback = ["127.0.0.1", "::1", "localhost"].contains(host)
        let mode = URLComponents(string: url)?.queryItems?.first { $0.name == "sslmode" }?.value ?? (loopback ? "prefer" : "require")
        let tls: PostgresClient.Configuration.TLS
        switch mode {
        case "disable": tls = .disable
        case "prefer": tls = .prefer(.makeClientConfiguration())
        case "require", "verify-full": tls = .require(.makeClientConfiguration())
        default:
            throw .cannotOpen(path: redacted(url), reason: "sslmode takes disable, prefer or require (require verifies the server's certificate)")
        }
        var clientConfig = PostgresClient.Configuration(host: host, port: core.port ?? 5432, username: core.username,
                                                        password: password ?? core.password, database: core.database, tls: tls)
        clientConfig.options.maximumConnections = 16
        // A query that hangs (a lock never released, a server in trouble) fails instead of stalling the broker.
        clientConfig.options.additionalStartupParameters = [("statement_timeout", "30s")]
        let client = PostgresClient(configuration: clientConfig, backgroundLogger: logger)
        let runner = Task { await client.run() }
        let store = SQLStore(engine: .postgres(client), location: redacted(url), runner: runner)
        do {
            // The pool keeps retrying a server that is not there: the first answer has a deadline.
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await store.read { db in try await db.raw("SELECT 1").run() } }
                group.addTask {
                    try await Task.sleep(for: connectTimeout)
                    throw StoreError.sql("no answer within \(connectTimeout)")
                }
                try await group.next()
                group.cancelAll()
            }
            try await Schema.apply(to: store)
        } catch {
            await store.close()
            throw .cannotOpen(path: redacted(url), reason: "\(classify(error))")
        }
        return store
    }

    /// A database URL or a file path: `postgres://…` (or `postgresql://…`) is PostgreSQL, anything else a SQLite file.
    public static func open(_ database: String, password: String? = nil, logger: Logger = Logger(label: "tandem.store")) async throws(StoreError) -> SQLStore {
        if database.hasPrefix("postgres://") || database.hasPrefix("postgresql://") {
            return try await postgres(url: database, password: password, logger: logger)
        }
        return try await sqlite(path: database, logger: logger)
    }

    /// The URL without its password, even when the URL does not parse (a password may hold `/`, `#` or `@`).
    public static func redacted(_ url: String) -> String {
        guard let scheme = url.range(of: "://") else { return "(a database URL that does not parse)" }
        let rest = url[scheme.upperBound...]
        guard let at = rest.lastIndex(of: "@") else { return url }
        let user = rest[..<at].prefix { $0 != ":" }
        return String(url[..<scheme.upperBound]) + user + String(rest[at...])
    }

    public func close() async {
        switch engine {
        case .sqlite(let connection, let lock):
            // After the statement that is running: sqlite-nio must not close a handle in use.
            _ = try? await lock.withLock {
                closed.withLock { $0 = true }
                try await connection.close().get()
            }
            // The claim goes last: no other broker starts while this one's last statements run.
            await releaseSoleBrokerClaim()
        case .postgres:
            closed.withLock { $0 = true }
            // Unlocking needs the pool, so before it stops; nothing of ours runs after `closed` is set.
            await releaseSoleBrokerClaim()
            await releaseLeases()
            runner?.cancel()
            _ = await runner?.value
        }
    }

    // MARK: Running queries

    /// Runs `body` with the database: SQLite one caller at a time, PostgreSQL on a pooled connection.
    func read<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws(StoreError) -> T {
        if closed.withLock({ $0 }) { throw Self.closedError }
        do {
            switch engine {
            case .sqlite(let connection, let lock):
                return try await lock.withLock {
                    if closed.withLock({ $0 }) { throw Self.closedError }
                    return try await body(connection.sql())
                }
            case .postgres(let client):
                return try await client.withConnection { try await body($0.sql()) }
            }
        } catch {
            throw Self.classify(error)
        }
    }

    static let closedError = StoreError.sql("the database connection is closed (the broker is stopping)")

    /// Runs `body` in one write transaction: all of it is committed, or none of it.
    func transaction<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws(StoreError) -> T {
        try await run(begin: isPostgres ? "BEGIN" : "BEGIN IMMEDIATE", body)
    }

    /// Runs `body` on one consistent snapshot that does not hold writers back (copying a live database).
    func snapshot<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws(StoreError) -> T {
        try await run(begin: isPostgres ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN DEFERRED", body)
    }

    private func run<T: Sendable>(begin: SQLQueryString, _ body: (any SQLDatabase) async throws -> T) async throws(StoreError) -> T {
        try await read { db in
            try await db.raw(begin).run()
            do {
                let result = try await body(db)
                try await db.raw("COMMIT").run()
                return result
            } catch {
                try? await db.raw("ROLLBACK").run()
                throw error
            }
        }
    }

    /// An engine's error as one the operator can act on.
    static func classify(_ error: any Error) -> StoreError {
        if let e = error as? StoreError { return e }
        if let e = error as? SQLiteError {
            // Extended result codes refine a primary one (constraintUniqueFailed, corruptIndex…): match the family.
            let reason = "\(e.reason)"
            if case .full = e.reason { return .full(e.message) }
            if reason.hasPrefix("constraint") { return .constraint(e.message) }
            if reason.hasPrefix("corrupt") || reason == "notADatabase" { return .damaged(path: "the SQLite database", report: e.message) }
            return .sql(e.message)
        }
        if let e = error as? PSQLError {
            let state = e.serverInfo?[.sqlState] ?? ""
            let message = e.serverInfo?[.message] ?? "\(e.code)"
            if state.hasPrefix("23") { return .constraint(message) }
            if state == "53100" { return .full(message) }
            return .sql(state.isEmpty ? "PostgreSQL: \(e.code)" : "PostgreSQL \(state): \(message)")
        }
        return .sql("\(error)")
    }
}
