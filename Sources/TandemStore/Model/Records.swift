import Foundation
import TandemAudit
import TandemCore

/// What a registered person may do at the broker.
public enum Role: String, Codable, Sendable, CaseIterable {
    case technician, auditor, admin
}

/// Whether a registered person may log in; a removed name is kept so nobody inherits its tickets.
public enum UserStatus: String, Codable, Sendable {
    case active, disabled, removed
}

/// A person known to the broker by one or more SSH public keys.
public struct User: Codable, Sendable, Equatable {
    public var name: String
    public var role: Role
    /// OpenSSH public key lines (`ssh-ed25519 AAAA…`), without comments.
    public var publicKeys: [String]
    public var status: UserStatus

    public init(name: String, role: Role, publicKeys: [String], status: UserStatus = .active) {
        self.name = name
        self.role = role
        self.publicKeys = publicKeys
        self.status = status
    }

    /// `type base64`: how a key is stored and compared, whatever comment its file had.
    public static func normalizedKey(_ line: String) -> String {
        line.split(separator: " ", omittingEmptySubsequences: true).prefix(2).joined(separator: " ")
    }
}

/// A helpdesk ticket in the built-in store.
public struct Ticket: Codable, Sendable, Equatable {
    public var id: Int
    public var title: String
    public var requester: String
    public var status: String
    public var created: Date
    /// Who opened it (nil for tickets from before creators were kept and no event names one).
    public var createdBy: String?
    /// The helpdesk ticket it stands for (`rt:1042`, `redmine:77`); nil for a built-in ticket.
    public var external: String?
}

/// A session as stored: the code is kept only as its keyed hash.
public struct SessionRecord: Codable, Sendable, Equatable {
    public var id: SessionID
    public var ticketID: Int
    public var technician: String
    public var scopes: [Scope]
    public var codeHash: String
    public var state: SessionLifecycle.State
    public var created: Date
    public var expires: Date
    public var timeLimitSeconds: Int
    public var endReason: String?

    public init(id: SessionID, ticketID: Int, technician: String, scopes: [Scope], codeHash: String,
                state: SessionLifecycle.State, created: Date, expires: Date, timeLimitSeconds: Int, endReason: String?) {
        self.id = id
        self.ticketID = ticketID
        self.technician = technician
        self.scopes = scopes
        self.codeHash = codeHash
        self.state = state
        self.created = created
        self.expires = expires
        self.timeLimitSeconds = timeLimitSeconds
        self.endReason = endReason
    }
}

/// One entry of the ticket's timeline.
public struct Event: Codable, Sendable, Equatable {
    public var id: Int64
    public var time: Date
    public var ticketID: Int?
    public var sessionID: String?
    public var actor: String
    public var kind: String
    public var data: [String: String]

    public init(id: Int64 = 0, time: Date, ticketID: Int?, sessionID: String?, actor: String, kind: String, data: [String: String] = [:]) {
        self.id = id
        self.time = time
        self.ticketID = ticketID
        self.sessionID = sessionID
        self.actor = actor
        self.kind = kind
        self.data = data
    }
}

extension Event {
    /// An event of the catalogue: its kind and fields come from the typed payload.
    public init(_ payload: some EventPayload, time: Date, ticketID: Int?, sessionID: String?, actor: String) {
        self.init(time: time, ticketID: ticketID, sessionID: sessionID, actor: actor, kind: payload.kind.rawValue, data: payload.fields)
    }
}

/// An API token as stored: the secret only as its SHA-256.
public struct TokenRecord: Codable, Sendable, Equatable {
    /// The public part, `tok_…`: names the token in lists, events and revocations.
    public var id: String
    public var owner: String
    public var name: String
    public var secretHash: String
    public var created: Date
    public var expires: Date
    public var revoked: Date?

    public init(id: String, owner: String, name: String, secretHash: String, created: Date, expires: Date, revoked: Date? = nil) {
        self.id = id
        self.owner = owner
        self.name = name
        self.secretHash = secretHash
        self.created = created
        self.expires = expires
        self.revoked = revoked
    }
}
