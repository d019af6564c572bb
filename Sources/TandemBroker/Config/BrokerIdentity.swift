@preconcurrency import Crypto
import Foundation
import NIOSSH
import TandemAudit
import TandemCore

/// The broker's long-lived secrets: its Ed25519 SSH key and the key that hashes session codes.
public struct BrokerIdentity: Sendable {
    public let sshKey: Curve25519.Signing.PrivateKey
    public let codeKey: SymmetricKey
    /// Signs audit checkpoints; kept apart from the SSH key so each can be rotated alone.
    public let auditKey: Curve25519.Signing.PrivateKey

    static let sshKeyFile = "broker_ed25519.key"
    static let codeKeyFile = "code_hmac.key"
    static let auditKeyFile = "audit_ed25519.key"
    /// Signs webhooks (`v1a`); apart from the audit key, so a webhook signature can never pass for a checkpoint's.
    static let webhookKeyFile = "webhook_ed25519.key"

    /// Creates the keys in `directory` (mode 0600); refuses to overwrite existing ones.
    public static func create(in directory: String) throws(TandemError) -> BrokerIdentity {
        let ssh = Curve25519.Signing.PrivateKey()
        let code = SymmetricKey(size: .bits256)
        let audit = Curve25519.Signing.PrivateKey()
        try writeSecret(ssh.rawRepresentation, to: directory + "/" + sshKeyFile)
        try writeSecret(code.withUnsafeBytes { Data($0) }, to: directory + "/" + codeKeyFile)
        try writeSecret(audit.rawRepresentation, to: directory + "/" + auditKeyFile)
        _ = try webhookKey(in: directory)
        return BrokerIdentity(sshKey: ssh, codeKey: code, auditKey: audit)
    }

    public static func load(from directory: String) throws(TandemError) -> BrokerIdentity {
        let sshData = try readSecret(directory + "/" + sshKeyFile)
        let codeData = try readSecret(directory + "/" + codeKeyFile)
        let auditData = try readSecret(directory + "/" + auditKeyFile)
        guard let ssh = try? Curve25519.Signing.PrivateKey(rawRepresentation: sshData),
              let audit = try? Curve25519.Signing.PrivateKey(rawRepresentation: auditData) else {
            throw .io("a broker key in \(directory) is damaged; restore it from a backup")
        }
        return BrokerIdentity(sshKey: ssh, codeKey: SymmetricKey(data: codeData), auditKey: audit)
    }

    /// The webhook signing key of the broker in `directory`, made the first time it is asked for
    /// (data directories from before webhooks have none).
    public static func webhookKey(in directory: String) throws(TandemError) -> Curve25519.Signing.PrivateKey {
        let path = directory + "/" + webhookKeyFile
        if !FileManager.default.fileExists(atPath: path) {
            try writeSecret(Curve25519.Signing.PrivateKey().rawRepresentation, to: path)
        }
        guard let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: try readSecret(path)) else {
            throw .io("\(path) is damaged; restore it from a backup (or remove it to make a new one, and give webhook receivers the new public key)")
        }
        return key
    }

    /// The webhook signing key if the broker has made one (`tandemd info` must not make files).
    public static func existingWebhookKey(in directory: String) throws(TandemError) -> Curve25519.Signing.PrivateKey? {
        guard FileManager.default.fileExists(atPath: directory + "/" + webhookKeyFile) else { return nil }
        return try webhookKey(in: directory)
    }

    /// `tandem-audit-ed25519 …`: what auditors verify checkpoints and exports with.
    public var auditPublicKeyText: String { AuditKeyText.format(auditKey.publicKey) }

    public var nioPrivateKey: NIOSSHPrivateKey { NIOSSHPrivateKey(ed25519Key: sshKey) }

    /// `ssh-ed25519 AAAA…`, what agents are told to accept.
    public var publicKeyLine: String { String(openSSHPublicKey: nioPrivateKey.publicKey) }

    /// `SHA256:…`, as `ssh-keygen -l` prints it; technicians pin this.
    public var fingerprint: String { Self.fingerprint(ofOpenSSHLine: publicKeyLine) }

    public static func fingerprint(ofOpenSSHLine line: String) -> String {
        let parts = line.split(separator: " ")
        guard parts.count >= 2, let blob = Data(base64Encoded: String(parts[1])) else { return "SHA256:?" }
        let digest = Data(SHA256.hash(data: blob)).base64EncodedString()
        return "SHA256:" + digest.replacingOccurrences(of: "=", with: "")
    }

    private static func writeSecret(_ data: Data, to path: String) throws(TandemError) {
        guard !FileManager.default.fileExists(atPath: path) else {
            throw .invalidArgument("\(path) already exists; the broker is already initialised")
        }
        guard FileManager.default.createFile(atPath: path, contents: data.base64EncodedData(), attributes: [.posixPermissions: 0o600]) else {
            throw .io("cannot write \(path); check the directory's permissions")
        }
    }

    private static func readSecret(_ path: String) throws(TandemError) -> Data {
        guard let text = FileManager.default.contents(atPath: path),
              let data = Data(base64Encoded: text.trimmingWhitespace()) else {
            throw .io("cannot read \(path); run 'tandemd init' first")
        }
        return data
    }
}

private extension Data {
    func trimmingWhitespace() -> Data {
        Data(String(decoding: self, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).utf8)
    }
}
