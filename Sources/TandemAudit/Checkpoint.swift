@preconcurrency import Crypto
import Foundation

/// The broker's signature over a chain's head: whoever holds only the public key can
/// tell the events up to `seq` are complete and unedited.
public struct Checkpoint: Codable, Sendable, Equatable {
    public var id: Int64
    public var chain: Int
    public var seq: Int64
    public var eventID: Int64
    public var head: String
    public var timeMicros: Int64
    /// Base64 Ed25519 signature over `signedText`.
    public var signature: String

    public init(id: Int64, chain: Int, seq: Int64, eventID: Int64, head: String, timeMicros: Int64, signature: String) {
        self.id = id
        self.chain = chain
        self.seq = seq
        self.eventID = eventID
        self.head = head
        self.timeMicros = timeMicros
        self.signature = signature
    }

    public var signedText: String {
        "tandem-checkpoint-v1\n\(chain)\n\(seq)\n\(eventID)\n\(head)\n\(timeMicros)"
    }

    public static func sign(chain: Int, seq: Int64, eventID: Int64, head: String, timeMicros: Int64,
                            key: Curve25519.Signing.PrivateKey) throws -> Checkpoint {
        var c = Checkpoint(id: 0, chain: chain, seq: seq, eventID: eventID, head: head, timeMicros: timeMicros, signature: "")
        c.signature = try key.signature(for: Data(c.signedText.utf8)).base64EncodedString()
        return c
    }

    public func isValid(publicKey: Curve25519.Signing.PublicKey) -> Bool {
        guard let sig = Data(base64Encoded: signature) else { return false }
        return publicKey.isValidSignature(sig, for: Data(signedText.utf8))
    }
}

/// How the audit public key is written in exports and by `tandemd info`.
public enum AuditKeyText {
    public static let prefix = "tandem-audit-ed25519 "

    public static func format(_ key: Curve25519.Signing.PublicKey) -> String {
        prefix + key.rawRepresentation.base64EncodedString()
    }

    public static func parse(_ text: String) -> Curve25519.Signing.PublicKey? {
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard t.hasPrefix(prefix), let raw = Data(base64Encoded: String(t.dropFirst(prefix.count))) else { return nil }
        return try? Curve25519.Signing.PublicKey(rawRepresentation: raw)
    }
}
