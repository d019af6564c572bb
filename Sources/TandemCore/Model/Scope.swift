/// What the end-user allows a technician to do in one session.
public enum Scope: String, Codable, Sendable, CaseIterable, Comparable {
    /// An interactive login shell and single commands (exec).
    case shell
    /// File transfer (SFTP).
    case files
    /// File transfer, each upload, download, removal or rename asked of the user first.
    case filesAsk = "files:ask"

    public static func < (lhs: Scope, rhs: Scope) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Words an end-user who is not technical understands.
    public var plainWords: String {
        switch self {
        case .shell: return "type commands on this computer"
        case .files: return "copy files to and from this computer"
        case .filesAsk: return "copy files to and from this computer, asking you each time"
        }
    }

    /// Parses `shell,files`; unknown names are an error naming the valid ones.
    public static func parseList(_ text: String) throws(TandemError) -> [Scope] {
        var result: [Scope] = []
        for part in text.split(separator: ",") {
            let name = part.trimmingCharacters(in: .whitespaces)
            guard let scope = Scope(rawValue: name) else {
                throw .invalidArgument("unknown scope '\(name)'; use one or more of: \(Scope.allCases.map(\.rawValue).joined(separator: ","))")
            }
            if !result.contains(scope) { result.append(scope) }
        }
        guard !result.isEmpty else { throw .invalidArgument("no scope given; use --scope shell or --scope shell,files") }
        guard !(result.contains(.files) && result.contains(.filesAsk)) else {
            throw .invalidArgument("choose one of 'files' (every transfer allowed) and 'files:ask' (the user asked each time)")
        }
        return result.sorted()
    }
}

extension Array where Element == Scope {
    /// Files may move at all (each may still need the user's yes: `asksForFiles`).
    public var allowsFiles: Bool { contains(.files) || contains(.filesAsk) }
    /// Each upload, download, removal and rename waits for the user's answer.
    public var asksForFiles: Bool { contains(.filesAsk) && !contains(.files) }
}
