import Crypto
import Foundation

/// The 9-digit code a technician reads to the end-user; only its keyed hash is stored.
public struct SessionCode: Sendable, Equatable {
    public static let digits = 9
    public let digits: String

    public init(digits: String) { self.digits = digits }

    public static func random() -> SessionCode {
        var rng = SystemRandomNumberGenerator()
        let n = UInt64.random(in: 0..<1_000_000_000, using: &rng)
        return SessionCode(digits: String(format: "%09llu", n))
    }

    /// Accepts what people type: spaces, dashes and dots between digit groups.
    public static func parse(_ text: String) throws(TandemError) -> SessionCode {
        let kept = text.filter { !" -.\t".contains($0) }
        guard kept.count == digits, kept.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw .invalidArgument("a session code has 9 digits, like 482 913 705")
        }
        return SessionCode(digits: kept)
    }

    /// `482 913 705`: easy to read aloud over the phone.
    public var grouped: String {
        let c = Array(digits)
        return "\(String(c[0..<3])) \(String(c[3..<6])) \(String(c[6..<9]))"
    }

    /// HMAC keyed by a broker secret: a plain hash of 10^9 codes would be reversed in seconds.
    public func hash(key: SymmetricKey) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(digits.utf8), using: key)
        return Data(mac).map { String(format: "%02x", $0) }.joined()
    }
}
