import Foundation
import TandemTestSupport
import TandemStore
import XCTest

/// The test run's PostgreSQL server (scripts/postgres.sh, started once by scripts/test.sh): every
/// test gets a database of its own, made with psql.
enum PostgresTestServer {
    /// `postgres://tandem@127.0.0.1:PORT`, or a failure that says how to get one. Under CI a missing
    /// server is a failure, never a skip.
    static func url() throws -> String {
        if let url = ProcessInfo.processInfo.environment["TANDEM_TEST_POSTGRES"], !url.isEmpty { return url }
        if ProcessInfo.processInfo.environment["CI"] != nil {
            throw XCTestError(.failureWhileWaiting, userInfo: [NSLocalizedDescriptionKey: "TANDEM_TEST_POSTGRES is not set: run the tests with scripts/test.sh"])
        }
        throw XCTSkip("no PostgreSQL server: run with scripts/test.sh (it starts one) or set TANDEM_TEST_POSTGRES")
    }

    /// A new empty database on the server; its URL.
    static func freshDatabase() throws -> String {
        let server = try url()
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let psql = try runToCompletion("/usr/bin/psql", [server + "/postgres", "-q", "-v", "ON_ERROR_STOP=1", "-c", "CREATE DATABASE \(name)"],
                                       environment: ProcessInfo.processInfo.environment.merging(["PGCONNECT_TIMEOUT": "10"]) { old, _ in old })
        guard psql.status == 0 else {
            let text = psql.stderr
            throw XCTestError(.failureWhileWaiting, userInfo: [NSLocalizedDescriptionKey: "psql could not create a database: \(text)"])
        }
        return "\(server)/\(name)?sslmode=disable"
    }

    /// Runs one statement with psql on the database at `url`; what psql printed.
    static func run(_ sql: String, in url: String) throws -> String {
        let psql = try runToCompletion("/usr/bin/psql", [url, "-v", "ON_ERROR_STOP=1", "-c", sql],
                                       environment: ProcessInfo.processInfo.environment.merging(["PGCONNECT_TIMEOUT": "10"]) { old, _ in old })
        guard psql.status == 0 else {
            throw XCTestError(.failureWhileWaiting, userInfo: [NSLocalizedDescriptionKey: "psql failed: \(psql.stderr)"])
        }
        return psql.stdout
    }

    /// The server's password (scripts/test.sh exports it, as an operator's unit would).
    static var password: String? { ProcessInfo.processInfo.environment["TANDEM_DATABASE_PASSWORD"] }

    static func store() async throws -> any BrokerStore {
        try await SQLStore.postgres(url: try freshDatabase(), password: password)
    }
}
