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

// MARK: - Users

extension Store {
    public func addUser(_ user: User) throws(StoreError) {
        try run { c throws(StoreError) in
            try c.query("INSERT INTO users(name, role, public_key, created) VALUES(?,?,?,?)",
                        [.text(user.name), .text(user.role.rawValue), .text(user.publicKey), .double(Date().timeIntervalSince1970)])
        }
    }

    public func users() throws(StoreError) -> [User] {
        try run { c throws(StoreError) in
            try c.query("SELECT name, role, public_key FROM users ORDER BY name").map(Self.user)
        }
    }

    public func user(named name: String) throws(StoreError) -> User? {
        try run { c throws(StoreError) in
            try c.query("SELECT name, role, public_key FROM users WHERE name = ?", [.text(name)]).first.map(Self.user)
        }
    }

    private static func user(_ row: [SQLValue]) -> User {
        User(name: row[0].text ?? "", role: Role(rawValue: row[1].text ?? "") ?? .technician, publicKey: row[2].text ?? "")
    }
}

// MARK: - Tickets

extension Store {
    public func createTicket(title: String, requester: String, now: Date) throws(StoreError) -> Ticket {
        try run { c throws(StoreError) in
            try c.query("INSERT INTO tickets(title, requester, status, created) VALUES(?,?,'open',?)",
                        [.text(title), .text(requester), .double(now.timeIntervalSince1970)])
            return Ticket(id: Int(c.lastInsertRowID), title: title, requester: requester, status: "open", created: now)
        }
    }

    public func tickets() throws(StoreError) -> [Ticket] {
        try run { c throws(StoreError) in
            try c.query("SELECT id, title, requester, status, created FROM tickets ORDER BY id").map(Self.ticket)
        }
    }

    public func ticket(id: Int) throws(StoreError) -> Ticket? {
        try run { c throws(StoreError) in
            try c.query("SELECT id, title, requester, status, created FROM tickets WHERE id = ?", [.int(Int64(id))]).first.map(Self.ticket)
        }
    }

    private static func ticket(_ row: [SQLValue]) -> Ticket {
        Ticket(id: Int(row[0].int ?? 0), title: row[1].text ?? "", requester: row[2].text ?? "",
               status: row[3].text ?? "", created: Date(timeIntervalSince1970: row[4].double ?? 0))
    }
}
