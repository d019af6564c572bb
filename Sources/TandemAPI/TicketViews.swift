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

    enum CodingKeys: String, CodingKey {
        case id, title, requester, status, createdBy = "created_by", created
    }

    public init(id: Int, title: String, requester: String, status: String, createdBy: String?, created: Double) {
        self.id = id
        self.title = title
        self.requester = requester
        self.status = status
        self.createdBy = createdBy
        self.created = created
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
