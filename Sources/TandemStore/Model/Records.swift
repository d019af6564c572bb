import Foundation
import TandemCore

/// What a registered person may do at the broker.
public enum Role: String, Codable, Sendable, CaseIterable {
    case technician, auditor, admin
}

/// A person known to the broker by one SSH public key.
public struct User: Codable, Sendable, Equatable {
    public var name: String
    public var role: Role
    /// OpenSSH public key line (`ssh-ed25519 AAAA… comment`).
    public var publicKey: String

    public init(name: String, role: Role, publicKey: String) {
        self.name = name
        self.role = role
        self.publicKey = publicKey
    }
}

/// A helpdesk ticket in the built-in store.
public struct Ticket: Codable, Sendable, Equatable {
    public var id: Int
    public var title: String
    public var requester: String
    public var status: String
    public var created: Date
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
