import Crypto
import Foundation
import TandemAudit

/// The shape shared by API tokens, console sessions and sign-in links: `PREFIX` + 12 hex digits
/// (public: lists, events, logs), a dot, then the secret. Only the SHA-256 of the whole is stored.
struct SecretToken: Sendable, Equatable {
    let id: String
    let text: String

    /// A fresh one: 6 random bytes of id, 32 of secret.
    static func make(prefix: String) -> SecretToken {
        let id = prefix + random(bytes: 6).hexString
        return SecretToken(id: id, text: id + "." + random(bytes: 32).base64URL)
    }

    /// The public id of a presented token of this kind, or nil when it cannot be one (checked
    /// before any lookup, so a foreign string of any size costs nothing and is never echoed).
    static func id(of text: String, prefix: String) -> String? {
        guard text.utf8.count <= 128 else { return nil }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].hasPrefix(prefix), parts[0].utf8.count <= 32, !parts[1].isEmpty,
              parts[0].utf8.allSatisfy({ $0 == 95 || (48...57).contains($0) || (97...122).contains($0) }),
              parts[1].utf8.allSatisfy({ $0 == 45 || $0 == 95 || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) })
        else { return nil }
        return String(parts[0])
    }

    static func hash(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).hexString
    }

    static func random(bytes n: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<n).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }
}

extension [UInt8] {
    var base64URL: String {
        Data(self).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
