import TandemCore

/// Which ticket a session is for: one of the broker's own, or one in a helpdesk (`rt:1042`).
public enum TicketReference: Sendable, Hashable, CustomStringConvertible {
    /// The broker's own ticket number; with a configured default helpdesk, a bare number means that helpdesk's.
    case number(Int)
    case external(HelpdeskSystem, Int)

    /// `42`, `rt:1042`, `redmine:77`; nil for anything else.
    public init?(_ text: String) {
        let t = text.trimmingCharacters(in: .whitespaces)
        if let n = Int(t), n > 0 {
            self = .number(n)
            return
        }
        let parts = t.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let system = HelpdeskSystem(rawValue: parts[0].lowercased()),
              let n = Int(parts[1]), n > 0, parts[1].allSatisfy(\.isASCII) else { return nil }
        self = .external(system, n)
    }

    public var description: String {
        switch self {
        case .number(let n): "\(n)"
        case .external(let system, let n): "\(system.rawValue):\(n)"
        }
    }

    /// What the parser accepts, for a message.
    public static let forms = "a ticket number (42) or a helpdesk ticket (rt:1042, redmine:77)"
}

/// A helpdesk the broker can link tickets to.
public enum HelpdeskSystem: String, Sendable, CaseIterable, Codable {
    case rt
    case redmine

    /// How a person calls it.
    public var displayName: String {
        switch self {
        case .rt: "Request Tracker"
        case .redmine: "Redmine"
        }
    }
}
