import Foundation
import SQLKit

// MARK: - Tickets and who may see them

extension SQLStore {
    public func createTicket(title: String, requester: String, createdBy: String?, external: String?, now: Date) async throws(StoreError) -> Ticket {
        let id = try await read { db in
            try await db.raw("""
                INSERT INTO tickets(title, requester, status, created, created_by, external)
                VALUES(\(bind: title), \(bind: requester), 'open', \(bind: now.timeIntervalSince1970), \(bind: createdBy), \(bind: external))
                RETURNING id
                """).first()?.decode(column: "id", as: Int.self)
        }
        guard let id else { throw .sql("the new ticket has no id") }
        return Ticket(id: id, title: title, requester: requester, status: "open", created: now, createdBy: createdBy, external: external)
    }

    public func ticket(external: String) async throws(StoreError) -> Ticket? {
        try await read { db in try await db.raw("\(unsafeRaw: Self.ticketColumns) WHERE external = \(bind: external)").first().map(Self.ticket) }
    }

    public func tickets() async throws(StoreError) -> [Ticket] {
        try await read { db in try await db.raw("\(unsafeRaw: Self.ticketColumns) ORDER BY id").all().map(Self.ticket) }
    }

    public func tickets(visibleTo user: String) async throws(StoreError) -> [Ticket] {
        try await read { db in
            try await db.raw("""
                \(unsafeRaw: Self.ticketColumns) WHERE created_by = \(bind: user)
                OR id IN (SELECT ticket_id FROM ticket_assignees WHERE "user" = \(bind: user)) ORDER BY id
                """).all().map(Self.ticket)
        }
    }

    public func ticket(id: Int) async throws(StoreError) -> Ticket? {
        try await read { db in try await db.raw("\(unsafeRaw: Self.ticketColumns) WHERE id = \(bind: id)").first().map(Self.ticket) }
    }

    public func assign(ticket: Int, to user: String, by: String, now: Date) async throws(StoreError) {
        try await read { db in
            try await db.raw("""
                INSERT INTO ticket_assignees(ticket_id, "user", assigned_by, time)
                VALUES(\(bind: ticket), \(bind: user), \(bind: by), \(bind: now.timeIntervalSince1970)) ON CONFLICT DO NOTHING
                """).run()
        }
    }

    public func assignees(ticket: Int) async throws(StoreError) -> [String] {
        try await read { db in
            try await db.raw("SELECT \"user\" AS name FROM ticket_assignees WHERE ticket_id = \(bind: ticket) ORDER BY time")
                .all().map { try $0.decode(column: "name", as: String.self) }
        }
    }

    private static let ticketColumns = "SELECT id, title, requester, status, created, created_by, external FROM tickets"

    private static func ticket(_ row: any SQLRow) throws -> Ticket {
        Ticket(id: try row.decode(column: "id", as: Int.self), title: try row.decode(column: "title", as: String.self),
               requester: try row.decode(column: "requester", as: String.self), status: try row.decode(column: "status", as: String.self),
               created: Date(timeIntervalSince1970: try row.decode(column: "created", as: Double.self)),
               createdBy: try row.decode(column: "created_by", as: String?.self), external: try row.decode(column: "external", as: String?.self))
    }
}
