import Foundation
import SQLKit

// MARK: - API tokens

extension SQLStore {
    public func addToken(_ t: TokenRecord) async throws(StoreError) {
        try await transaction { db in
            try await db.raw("""
                INSERT INTO tokens(id, owner, name, secret_hash, created, expires, revoked)
                VALUES(\(bind: t.id), \(bind: t.owner), \(bind: t.name), \(bind: t.secretHash), \(bind: t.created.timeIntervalSince1970),
                       \(bind: t.expires.timeIntervalSince1970), \(bind: t.revoked?.timeIntervalSince1970))
                """).run()
        }
    }

    public func token(secretHash: String) async throws(StoreError) -> TokenRecord? {
        try await read { db in
            try await db.raw("\(unsafeRaw: Self.tokenColumns) WHERE secret_hash = \(bind: secretHash)").first().map(Self.token)
        }
    }

    public func token(id: String) async throws(StoreError) -> TokenRecord? {
        try await read { db in
            try await db.raw("\(unsafeRaw: Self.tokenColumns) WHERE id = \(bind: id)").first().map(Self.token)
        }
    }

    public func tokens(owner: String?) async throws(StoreError) -> [TokenRecord] {
        try await read { db in
            if let owner {
                return try await db.raw("\(unsafeRaw: Self.tokenColumns) WHERE owner = \(bind: owner) ORDER BY created, id").all().map(Self.token)
            }
            return try await db.raw("\(unsafeRaw: Self.tokenColumns) ORDER BY created, id").all().map(Self.token)
        }
    }

    public func revokeToken(id: String, at: Date) async throws(StoreError) -> Bool {
        try await transaction { db in
            let changed = try await db.raw("""
                UPDATE tokens SET revoked = \(bind: at.timeIntervalSince1970) WHERE id = \(bind: id) AND revoked IS NULL RETURNING id
                """).all()
            return !changed.isEmpty
        }
    }

    private static let tokenColumns = "SELECT id, owner, name, secret_hash, created, expires, revoked FROM tokens"

    private static func token(_ row: any SQLRow) throws -> TokenRecord {
        TokenRecord(id: try row.decode(column: "id", as: String.self), owner: try row.decode(column: "owner", as: String.self),
                    name: try row.decode(column: "name", as: String.self), secretHash: try row.decode(column: "secret_hash", as: String.self),
                    created: Date(timeIntervalSince1970: try row.decode(column: "created", as: Double.self)),
                    expires: Date(timeIntervalSince1970: try row.decode(column: "expires", as: Double.self)),
                    revoked: try row.decode(column: "revoked", as: Double?.self).map { Date(timeIntervalSince1970: $0) })
    }
}
