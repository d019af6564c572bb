import Foundation

/// A session's public identifier, short enough to type (`s-7f3a9c2e`).
public struct SessionID: Hashable, Codable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static func random() -> SessionID {
        var rng = SystemRandomNumberGenerator()
        let hex = (0..<4).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
        return SessionID(rawValue: "s-" + hex)
    }

    /// Accepts only the shape we issue, so an identifier can never smuggle a path or SQL.
    public static func parse(_ text: String) throws(TandemError) -> SessionID {
        // ASCII only: `Character.isHexDigit` also takes fullwidth digits, which no broker issues.
        let ok = text.hasPrefix("s-") && text.utf8.count == 10
            && text.utf8.dropFirst(2).allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
        guard ok else { throw .invalidArgument("'\(text.prefix(40))' is not a session id (they look like s-7f3a9c2e)") }
        return SessionID(rawValue: text)
    }

    public var description: String { rawValue }
}
