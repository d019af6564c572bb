import Foundation
import SQLKit

// MARK: - People and their keys

extension SQLStore {
    public func addUser(name: String, role: Role, publicKey: String, now: Date) async throws(StoreError) {
        let key = User.normalizedKey(publicKey)
        try await transaction { db in
            try await db.raw("""
                INSERT INTO users(name, role, public_key, created, status)
                VALUES(\(bind: name), \(bind: role.rawValue), \(bind: key), \(bind: now.timeIntervalSince1970), 'active')
                """).run()
            try await db.raw("INSERT INTO user_keys(\"user\", public_key, added) VALUES(\(bind: name), \(bind: key), \(bind: now.timeIntervalSince1970))").run()
        }
    }

    public func users() async throws(StoreError) -> [User] {
        try await read { db in
            var users: [User] = []
            for row in try await db.raw("SELECT name, role, status FROM users ORDER BY name").all() {
                users.append(try await Self.user(row, db))
            }
            return users
        }
    }

    public func user(named name: String) async throws(StoreError) -> User? {
        try await read { db in
            guard let row = try await db.raw("SELECT name, role, status FROM users WHERE name = \(bind: name)").first() else { return nil }
            return try await Self.user(row, db)
        }
    }

    public func setStatus(of name: String, to status: UserStatus) async throws(StoreError) {
        try await transaction { db in
            try await db.raw("UPDATE users SET status = \(bind: status.rawValue) WHERE name = \(bind: name)").run()
            if status == .removed { try await db.raw("DELETE FROM user_keys WHERE \"user\" = \(bind: name)").run() }
        }
    }

    public func addKey(_ line: String, to name: String, now: Date) async throws(StoreError) {
        try await read { db in
            try await db.raw("""
                INSERT INTO user_keys("user", public_key, added) VALUES(\(bind: name), \(bind: User.normalizedKey(line)), \(bind: now.timeIntervalSince1970))
                """).run()
        }
    }

    public func removeKey(_ line: String, from name: String) async throws(StoreError) -> Bool {
        try await read { db in
            let removed = try await db.raw("""
                DELETE FROM user_keys WHERE "user" = \(bind: name) AND public_key = \(bind: User.normalizedKey(line)) RETURNING public_key
                """).all()
            return !removed.isEmpty
        }
    }

    public func inactiveUsers() async throws(StoreError) -> [String: UserStatus] {
        try await read { db in
            var out: [String: UserStatus] = [:]
            for row in try await db.raw("SELECT name, status FROM users WHERE status != 'active'").all() {
                out[try row.decode(column: "name", as: String.self)] = UserStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .disabled
            }
            return out
        }
    }

    private static func user(_ row: any SQLRow, _ db: any SQLDatabase) async throws -> User {
        let name = try row.decode(column: "name", as: String.self)
        let keys = try await db.raw("SELECT public_key FROM user_keys WHERE \"user\" = \(bind: name) ORDER BY added")
            .all().map { try $0.decode(column: "public_key", as: String.self) }
        // An unknown role or status reads as the least power: a damaged row must not grant more.
        return User(name: name, role: Role(rawValue: try row.decode(column: "role", as: String.self)) ?? .auditor, publicKeys: keys,
                    status: UserStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .disabled)
    }
}
