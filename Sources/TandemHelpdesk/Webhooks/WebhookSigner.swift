@preconcurrency import Crypto
import Foundation

/// Signs webhook messages the Standard Webhooks way: `v1,` HMAC-SHA256 with each shared secret
/// (`whsec_…`) and `v1a,` Ed25519 with each signing key, over `id.timestamp.body`. Several of
/// each during a rotation: a receiver accepts the message if any one signature checks out.
public struct WebhookSigner: Sendable {
    let secrets: [SymmetricKey]
    let keys: [Curve25519.Signing.PrivateKey]

    public init(secrets: [String], keys: [Curve25519.Signing.PrivateKey]) throws(HelpdeskError) {
        var parsed: [SymmetricKey] = []
        for (i, text) in secrets.enumerated() {
            guard text.hasPrefix("whsec_"), let raw = Data(base64Encoded: String(text.dropFirst(6))), raw.count >= 16 else {
                // Which one, never its value.
                throw .misconfigured("webhook secret \(i + 1) is not whsec_ followed by base64 of at least 16 bytes")
            }
            parsed.append(SymmetricKey(data: raw))
        }
        guard !parsed.isEmpty || !keys.isEmpty else { throw .misconfigured("a webhook needs a secret (whsec_…) or an Ed25519 signing key") }
        self.secrets = parsed
        self.keys = keys
    }

    /// The `webhook-signature` header's value.
    public func signature(id: String, timestamp: Int64, body: Data) -> String {
        var content = Data("\(id).\(timestamp).".utf8)
        content.append(body)
        var parts = secrets.map { "v1," + Data(HMAC<SHA256>.authenticationCode(for: content, using: $0)).base64EncodedString() }
        for key in keys {
            // Signing with a valid key does not fail; a key that somehow cannot sign adds no signature.
            if let sig = try? key.signature(for: content) { parts.append("v1a," + sig.base64EncodedString()) }
        }
        return parts.joined(separator: " ")
    }

    /// A new shared secret, as an operator puts it in the configuration.
    public static func newSecret() -> String {
        "whsec_" + SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }.base64EncodedString()
    }

    /// How a receiver is given the public key: `whpk_` and its 32 bytes in base64.
    public static func publicKeyText(_ key: Curve25519.Signing.PublicKey) -> String {
        "whpk_" + key.rawRepresentation.base64EncodedString()
    }

    /// A signing key file's text: `whsk_` and the 32-byte seed in base64.
    public static func keyText(_ key: Curve25519.Signing.PrivateKey) -> String {
        "whsk_" + key.rawRepresentation.base64EncodedString()
    }

    public static func parseKey(_ text: String) -> Curve25519.Signing.PrivateKey? {
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard t.hasPrefix("whsk_"), let raw = Data(base64Encoded: String(t.dropFirst(5))) else { return nil }
        return try? Curve25519.Signing.PrivateKey(rawRepresentation: raw)
    }
}
