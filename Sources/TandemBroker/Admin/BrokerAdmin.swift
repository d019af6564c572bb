import Foundation
import NIOSSH
import TandemCore
import TandemStore

/// The operator's offline tasks on a data directory: init, users, info.
public enum BrokerAdmin {
    /// Creates the data directory, the database (WAL) and the broker's keys.
    public static func initialise(dataDirectory dir: String) throws -> BrokerIdentity {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let identity = try BrokerIdentity.create(in: dir)
        _ = try Store(path: dir + "/tandem.db")
        try FileManager.default.createDirectory(atPath: dir + "/recordings", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return identity
    }

    /// Registers a person by their OpenSSH public key file.
    public static func addUser(dataDirectory dir: String, name: String, role: Role, keyFile: String) throws {
        guard name.range(of: "^[a-z_][a-z0-9_.-]{0,31}$", options: .regularExpression) != nil else {
            throw TandemError.invalidArgument("user names are 1-32 lowercase letters, digits, '.', '_' or '-', starting with a letter")
        }
        guard let text = FileManager.default.contents(atPath: keyFile).map({ String(decoding: $0, as: UTF8.self) }) else {
            throw TandemError.io("cannot read \(keyFile)")
        }
        let line = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (try? NIOSSHPublicKey(openSSHPublicKey: line)) != nil else {
            throw TandemError.invalidArgument("\(keyFile) is not an Ed25519 or ECDSA OpenSSH public key (RSA is not supported)")
        }
        let store = try openStore(dir)
        if (try store.user(named: name)) != nil { throw TandemError.invalidArgument("user '\(name)' already exists") }
        try store.addUser(User(name: name, role: role, publicKey: line))
        try store.append(Event(time: Date(), ticketID: nil, sessionID: nil, actor: "operator", kind: "user_added",
                               data: ["user": name, "role": role.rawValue, "key": BrokerIdentity.fingerprint(ofOpenSSHLine: line)]))
    }

    public static func openStore(_ dir: String) throws -> Store {
        guard FileManager.default.fileExists(atPath: dir + "/tandem.db") else { throw StoreError.notInitialised(dir) }
        return try Store(path: dir + "/tandem.db")
    }
}
