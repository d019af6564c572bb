import Foundation
import Synchronization
import TandemCore

/// The broker's durable state in one SQLite file (WAL, synchronous=FULL).
///
/// Every call is short and serialised through one connection; a write returns
/// only after SQLite made it durable, so callers may acknowledge it.
public final class Store: Sendable {
    private let connection: Mutex<SQLiteConnection>

    public init(path: String) throws(StoreError) {
        let conn = try SQLiteConnection(path: path)
        try conn.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")
        try Migrations.apply(to: conn)
        connection = Mutex(conn)
    }

    @discardableResult
    func run<T>(_ body: (SQLiteConnection) throws(StoreError) -> T) throws(StoreError) -> T {
        try connection.withLock { conn throws(StoreError) -> T in try body(conn) }
    }

    /// Runs `body` in one write transaction: all of it is committed, or none of it.
    func transaction<T>(_ body: (SQLiteConnection) throws(StoreError) -> T) throws(StoreError) -> T {
        try run { c throws(StoreError) in
            try c.execute("BEGIN IMMEDIATE")
            do throws(StoreError) {
                let result = try body(c)
                try c.execute("COMMIT")
                return result
            } catch {
                try? c.execute("ROLLBACK")
                throw error
            }
        }
    }

    /// 2 means FULL: a commit returns only after the WAL is on disk.
    public func synchronousLevel() throws(StoreError) -> Int {
        try run { c throws(StoreError) in Int(try c.query("PRAGMA synchronous").first?.first?.int ?? -1) }
    }

    /// `PRAGMA quick_check` (at every start) or the slower `integrity_check` (`tandemd check`):
    /// throws `.damaged` with SQLite's report unless it says "ok".
    public func checkIntegrity(full: Bool, path: String) throws(StoreError) {
        let rows = try run { c throws(StoreError) in try c.query(full ? "PRAGMA integrity_check" : "PRAGMA quick_check") }
        let report = rows.compactMap { $0.first?.text }.joined(separator: "; ")
        guard report == "ok" else { throw .damaged(path: path, report: report) }
    }

    public func journalMode() throws(StoreError) -> String {
        try run { c throws(StoreError) in try c.query("PRAGMA journal_mode").first?.first?.text ?? "" }
    }
}
