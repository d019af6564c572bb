import Foundation
import TandemCore

/// A session as the services return it (never its code).
public struct SessionView: Codable, Sendable, Equatable {
    public var id: String
    public var ticket: Int
    public var technician: String
    public var scopes: [String]
    /// pending, active, refused, expired or ended.
    public var state: String
    public var created: Double
    public var timeLimit: Int
    public var endReason: String?

    enum CodingKeys: String, CodingKey {
        case id, ticket, technician, scopes, state, created, timeLimit = "time_limit", endReason = "end_reason"
    }

    public init(id: String, ticket: Int, technician: String, scopes: [String], state: String, created: Double,
                timeLimit: Int, endReason: String?) {
        self.id = id
        self.ticket = ticket
        self.technician = technician
        self.scopes = scopes
        self.state = state
        self.created = created
        self.timeLimit = timeLimit
        self.endReason = endReason
    }
}

/// A new session's code, to read to the end-user once.
public struct SessionOffer: Codable, Sendable, Equatable {
    public var session: String
    public var code: String
    public var expiresIn: Int

    enum CodingKeys: String, CodingKey { case session, code, expiresIn = "expires_in" }

    public init(session: String, code: String, expiresIn: Int) {
        self.session = session
        self.code = code
        self.expiresIn = expiresIn
    }
}

/// One step of a session request as the control channel streams it, one JSON line each.
public struct PairingUpdate: Codable, Sendable, Equatable {
    /// code, approved, refused, expired or ended.
    public var type: String
    public var session: String
    public var code: String?
    public var expiresIn: Int?
    public var reason: String?

    enum CodingKeys: String, CodingKey { case type, session, code, expiresIn = "expires_in", reason }

    public init(type: String, session: String, code: String? = nil, expiresIn: Int? = nil, reason: String? = nil) {
        self.type = type
        self.session = session
        self.code = code
        self.expiresIn = expiresIn
        self.reason = reason
    }
}

/// The answer to `session end`.
public struct SessionEnded: Codable, Sendable, Equatable {
    public var session: String
    /// True when the session had already ended (ending it again is safe).
    public var alreadyOver: Bool
    public var reason: String

    enum CodingKeys: String, CodingKey { case session, alreadyOver = "already_over", reason }

    public init(session: String, alreadyOver: Bool, reason: String) {
        self.session = session
        self.alreadyOver = alreadyOver
        self.reason = reason
    }
}
