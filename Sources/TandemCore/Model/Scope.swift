/// What the end-user allows a technician to do in one session.
public enum Scope: String, Codable, Sendable, CaseIterable, Comparable {
    /// An interactive login shell and single commands (exec).
    case shell
    /// File transfer (SFTP).
    case files

    public static func < (lhs: Scope, rhs: Scope) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Words an end-user who is not technical understands.
    public var plainWords: String {
        switch self {
        case .shell: return "type commands on this computer"
        case .files: return "copy files to and from this computer"
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
        return result.sorted()
    }
}
