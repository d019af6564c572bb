import Foundation
import TandemAudit

/// A ticket as the services return it.
public struct TicketView: Codable, Sendable, Equatable {
    public var id: Int
    public var title: String
    public var requester: String
    public var status: String
    public var createdBy: String?
    /// Seconds since 1970.
    public var created: Double
    /// The helpdesk ticket it stands for (`rt:1042`), if any.
    public var external: String?

    enum CodingKeys: String, CodingKey {
        case id, title, requester, status, createdBy = "created_by", created, external
    }

    public init(id: Int, title: String, requester: String, status: String, createdBy: String?, created: Double, external: String? = nil) {
        self.id = id
        self.title = title
        self.requester = requester
        self.status = status
        self.createdBy = createdBy
        self.created = created
        self.external = external
    }
}

/// One row of a ticket's outbox: an event or a checkpoint owed to one sink.
public struct DeliveryView: Codable, Sendable, Equatable {
    public var id: Int64
    /// `rt`, `redmine`, or a webhook's name.
    public var sink: String
    /// `pending`, `sending`, `delivered` or `failed`.
    public var state: String
    /// The event's kind, or `checkpoint`.
    public var kind: String
    public var eventID: Int64?
    public var attempts: Int
    public var lastError: String?
    /// Seconds since 1970.
    public var created: Double
    /// When it was delivered or failed for good.
    public var done: Double?
    /// When a pending row is tried next.
    public var nextTry: Double?

    enum CodingKeys: String, CodingKey {
        case id, sink, state, kind, eventID = "event_id", attempts, lastError = "last_error", created, done, nextTry = "next_try"
    }

    public init(id: Int64, sink: String, state: String, kind: String, eventID: Int64?, attempts: Int, lastError: String?,
                created: Double, done: Double?, nextTry: Double?) {
        self.id = id
        self.sink = sink
        self.state = state
        self.kind = kind
        self.eventID = eventID
        self.attempts = attempts
        self.lastError = lastError
        self.created = created
        self.done = done
        self.nextTry = nextTry
    }
}

/// What `ticket resync` did.
public struct ResyncView: Codable, Sendable, Equatable {
    public var ticket: Int
    /// Failed deliveries put back in line.
    public var requeued: Int

    public init(ticket: Int, requeued: Int) {
        self.ticket = ticket
        self.requeued = requeued
    }
}

/// A ticket with who works on it and its whole timeline.
public struct TicketDetail: Codable, Sendable, Equatable {
    public var ticket: TicketView
    public var assignees: [String]
    public var timeline: [AuditEvent]

    public init(ticket: TicketView, assignees: [String], timeline: [AuditEvent]) {
        self.ticket = ticket
        self.assignees = assignees
        self.timeline = timeline
    }
}
