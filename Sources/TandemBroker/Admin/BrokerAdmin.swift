import Foundation
import NIOSSH
import TandemAudit
import TandemCore
import TandemStore

/// The operator's offline tasks on a data directory: init, users and their keys.
///
/// Each change to a user is an event on the broker log (chain 0). A running broker notices a
/// disabled or removed user within a second and ends their live sessions (`Broker.refreshUsers`).
public enum BrokerAdmin {
    /// Creates the data directory, the database (WAL) and the broker's keys.
    public static func initialise(dataDirectory dir: String, database: DatabaseLocation? = nil) async throws -> BrokerIdentity {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let identity = try BrokerIdentity.create(in: dir)
        await (try await (database ?? .sqlite(path: dir + "/tandem.db")).open()).close()
        try FileManager.default.createDirectory(atPath: dir + "/recordings", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return identity
    }

    /// Registers a person by their OpenSSH public key file.
    public static func addUser(dataDirectory dir: String, database: DatabaseLocation? = nil, name: String, role: Role, keyFile: String) async throws {
        guard name.range(of: "^[a-z_][a-z0-9_.-]{0,31}$", options: .regularExpression) != nil else {
            throw TandemError.invalidArgument("user names are 1-32 lowercase letters, digits, '.', '_' or '-', starting with a letter")
        }
        let line = try readKey(keyFile)
        try await withStore(dir, database: database) { store in
            if let existing = try await store.user(named: name) {
                throw TandemError.invalidArgument(existing.status == .removed
                    ? "the name '\(name)' belonged to a removed user; pick another, so nobody inherits their tickets"
                    : "user '\(name)' already exists (add a key with 'tandemd user key add \(name) KEYFILE')")
            }
            try await store.addUser(name: name, role: role, publicKey: line, now: Date())
            try await log(store, UserAdded(user: name, role: role.rawValue, key: BrokerIdentity.fingerprint(ofOpenSSHLine: line)))
        }
    }

    /// Removes a person for good: their keys are deleted, their name is never given again.
    public static func removeUser(dataDirectory dir: String, database: DatabaseLocation? = nil, name: String) async throws {
        try await withStore(dir, database: database) { store in
            _ = try await existingUser(store, name)
            try await store.setStatus(of: name, to: .removed)
            try await log(store, UserRemoved(user: name))
        }
    }

    /// Disables or enables logins; a disabled user's live sessions end.
    public static func setEnabled(dataDirectory dir: String, database: DatabaseLocation? = nil, name: String, enabled: Bool) async throws {
        try await withStore(dir, database: database) { store in
            let user = try await existingUser(store, name)
            guard user.status != .removed else { throw TandemError.invalidArgument("user '\(name)' was removed; add a new user instead") }
            try await store.setStatus(of: name, to: enabled ? .active : .disabled)
            if enabled { try await log(store, UserEnabled(user: name)) } else { try await log(store, UserDisabled(user: name)) }
        }
    }

    public static func addKey(dataDirectory dir: String, database: DatabaseLocation? = nil, name: String, keyFile: String) async throws {
        try await withStore(dir, database: database) { store in
            let user = try await existingUser(store, name)
            guard user.status != .removed else { throw TandemError.invalidArgument("user '\(name)' was removed") }
            let line = try readKey(keyFile)
            guard !user.publicKeys.contains(User.normalizedKey(line)) else {
                throw TandemError.invalidArgument("\(keyFile) is already one of \(name)'s keys")
            }
            try await store.addKey(line, to: name, now: Date())
            try await log(store, UserKeyAdded(user: name, key: BrokerIdentity.fingerprint(ofOpenSSHLine: line)))
        }
    }

    public static func removeKey(dataDirectory dir: String, database: DatabaseLocation? = nil, name: String, keyFile: String) async throws {
        try await withStore(dir, database: database) { store in
            _ = try await existingUser(store, name)
            let line = try readKey(keyFile)
            guard try await store.removeKey(line, from: name) else { throw TandemError.notFound("that key among \(name)'s keys") }
            try await log(store, UserKeyRemoved(user: name, key: BrokerIdentity.fingerprint(ofOpenSSHLine: line)))
            // A key is taken away when it may be in the wrong hands: so may the tokens made with it.
            for token in try await store.tokens(owner: name) where token.revoked == nil && token.expires > Date() {
                if try await store.revokeToken(id: token.id, at: Date()) { try await log(store, TokenRevoked(token: token.id, owner: name)) }
            }
        }
    }

    /// Runs `body` with the broker's store in `dir`, closed afterwards.
    public static func withStore<T>(_ dir: String, database: DatabaseLocation? = nil, _ body: (SQLStore) async throws -> T) async throws -> T {
        let store = try await openStore(dir, database: database)
        do {
            let result = try await body(store)
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }

    /// The broker's store in `dir` (close it when done).
    public static func openStore(_ dir: String, database: DatabaseLocation? = nil) async throws -> SQLStore {
        let location = database ?? .sqlite(path: dir + "/tandem.db")
        // The keys live in the data directory whatever the engine: no keys, not initialised.
        guard FileManager.default.fileExists(atPath: dir + "/" + BrokerIdentity.auditKeyFile),
              !location.isEmbedded || FileManager.default.fileExists(atPath: dir + "/tandem.db") else {
            throw StoreError.notInitialised(dir)
        }
        return try await location.open()
    }

    private static func existingUser(_ store: any BrokerStore, _ name: String) async throws -> User {
        guard let user = try await store.user(named: name) else { throw TandemError.notFound("user '\(name)' (see 'tandemd user list')") }
        return user
    }

    private static func readKey(_ keyFile: String) throws -> String {
        guard let text = FileManager.default.contents(atPath: keyFile).map({ String(decoding: $0, as: UTF8.self) }) else {
            throw TandemError.io("cannot read \(keyFile)")
        }
        let line = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (try? NIOSSHPublicKey(openSSHPublicKey: line)) != nil else {
            throw TandemError.invalidArgument("\(keyFile) is not an Ed25519 or ECDSA OpenSSH public key (RSA is not supported)")
        }
        return line
    }

    /// The operator's commands run while the broker may be stopped: straight to the store, in the command's own order.
    private static func log(_ store: any BrokerStore, _ payload: some EventPayload) async throws {
        try await AuditLog(store: store).append(Event(payload, time: Date(), ticketID: nil, sessionID: nil, actor: "operator"))
    }
}
