import TandemStore

/// A person making a request, as an adapter authenticated them.
public struct Caller: Sendable {
    public let user: User
    public let via: Credential

    /// What proved who the caller is.
    public enum Credential: Sendable, Equatable, CustomStringConvertible {
        /// Their SSH key, on the control channel.
        case sshKey
        /// An API token (by its public id), on the HTTP API.
        case token(String)
        /// A web console session (by its public id), from a sign-in link.
        case console(String)

        public var description: String {
            switch self {
            case .sshKey: "SSH key"
            case .token(let id): "token \(id)"
            case .console(let id): "console session \(id)"
            }
        }
    }

    public init(user: User, via: Credential) {
        self.user = user
        self.via = via
    }
}
