import CSQLite
import Foundation

/// A value bound into or read out of a SQLite statement.
public enum SQLValue: Sendable, Equatable {
    case int(Int64)
    case double(Double)
    case text(String)
    case null
}

/// One SQLite connection; owns its handle and closes it in `deinit`.
// Unchecked: it is only ever touched while `Store` holds its lock.
final class SQLiteConnection: @unchecked Sendable {
    private let raw: OpaquePointer
    private let path: String

    init(path: String) throws(StoreError) {
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &handle, flags, nil)
        guard rc == SQLITE_OK, let handle else {
            if let handle { sqlite3_close_v2(handle) }
            throw .cannotOpen(path: path, reason: String(cString: sqlite3_errstr(rc)))
        }
        raw = handle
        self.path = path
        sqlite3_busy_timeout(raw, 5000)
    }

    deinit { sqlite3_close_v2(raw) }

    func execute(_ sql: String) throws(StoreError) {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(raw, sql, nil, nil, &message)
        if rc != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_free(message)
            throw classify(rc, text)
        }
    }

    /// Runs one statement and returns its rows as arrays of values.
    @discardableResult
    func query(_ sql: String, _ params: [SQLValue] = []) throws(StoreError) -> [[SQLValue]] {
        var stmt: OpaquePointer?
        let prepared = sqlite3_prepare_v2(raw, sql, -1, &stmt, nil)
        guard prepared == SQLITE_OK, let stmt else {
            throw classify(prepared, lastError)
        }
        defer { sqlite3_finalize(stmt) }
        for (i, value) in params.enumerated() {
            let index = Int32(i + 1)
            switch value {
            case .int(let v): sqlite3_bind_int64(stmt, index, v)
            case .double(let v): sqlite3_bind_double(stmt, index, v)
            case .text(let v): sqlite3_bind_text(stmt, index, v, -1, sqliteTransient)
            case .null: sqlite3_bind_null(stmt, index)
            }
        }
        var rows: [[SQLValue]] = []
        while true {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else {
                if rc & 0xff == SQLITE_CONSTRAINT { throw .constraint(lastError) }
                throw classify(rc, lastError)
            }
            var row: [SQLValue] = []
            for col in 0..<sqlite3_column_count(stmt) {
                switch sqlite3_column_type(stmt, col) {
                case SQLITE_INTEGER: row.append(.int(sqlite3_column_int64(stmt, col)))
                case SQLITE_FLOAT: row.append(.double(sqlite3_column_double(stmt, col)))
                case SQLITE_NULL: row.append(.null)
                default: row.append(.text(String(cString: sqlite3_column_text(stmt, col))))
                }
            }
            rows.append(row)
        }
        return rows
    }

    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(raw) }
    var changes: Int { Int(sqlite3_changes(raw)) }

    private var lastError: String { String(cString: sqlite3_errmsg(raw)) }

    /// A full disk and a damaged file each need the operator to do something different.
    private func classify(_ rc: Int32, _ text: String) -> StoreError {
        switch rc & 0xff {
        case SQLITE_FULL: return .full(text)
        case SQLITE_CORRUPT, SQLITE_NOTADB: return .damaged(path: path, report: text)
        default: return .sql(text)
        }
    }
}

// SQLITE_TRANSIENT is a macro SQLite defines as ((sqlite3_destructor_type)-1).
private let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

extension SQLValue {
    var int: Int64? { if case .int(let v) = self { return v } else { return nil } }
    var double: Double? {
        switch self {
        case .double(let v): return v
        case .int(let v): return Double(v)
        default: return nil
        }
    }
    var text: String? { if case .text(let v) = self { return v } else { return nil } }
}
