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
        let ok = text.hasPrefix("s-") && text.count == 10
            && text.dropFirst(2).allSatisfy { $0.isHexDigit && !$0.isUppercase }
        guard ok else { throw .invalidArgument("'\(text.prefix(40))' is not a session id (they look like s-7f3a9c2e)") }
        return SessionID(rawValue: text)
    }

    public var description: String { rawValue }
}
