import Foundation

/// A person registered at the broker: the caller (`whoami`), or one of everyone (`user.list`, admins).
public struct UserView: Codable, Sendable, Equatable {
    public var name: String
    public var role: String
    /// active, disabled or removed (in `user.list`).
    public var status: String?
    /// SHA256 fingerprints of their SSH keys (in `user.list`).
    public var keys: [String]?

    public init(name: String, role: String, status: String? = nil, keys: [String]? = nil) {
        self.name = name
        self.role = role
        self.status = status
        self.keys = keys
    }
}

/// An API token as listed: never its secret.
public struct TokenView: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var owner: String
    public var created: Double
    public var expires: Double
    public var revoked: Double?

    public init(id: String, name: String, owner: String, created: Double, expires: Double, revoked: Double?) {
        self.id = id
        self.name = name
        self.owner = owner
        self.created = created
        self.expires = expires
        self.revoked = revoked
    }
}

/// A token just made: the only time its secret is shown.
public struct MintedToken: Codable, Sendable, Equatable {
    public var token: String
    public var info: TokenView

    public init(token: String, info: TokenView) {
        self.token = token
        self.info = info
    }
}

/// How every refusal and failure is answered, on the control channel and over HTTP.
public struct ErrorView: Codable, Sendable, Equatable {
    public var error: Body

    /// The kind of failure and what to do about it.
    public struct Body: Codable, Sendable, Equatable {
        /// invalid_request, unauthorized, forbidden, not_found, conflict, too_large, unavailable
        public var code: String
        public var message: String
    }

    public init(code: String, message: String) {
        error = Body(code: code, message: message)
    }
}
