import Foundation
import TandemAPI
import TandemAudit
import TandemCore
import TandemStore
import TandemText

/// Tickets in the built-in store: create, read, assign.
public struct TicketService: Sendable {
    let broker: Broker

    public func create(_ caller: Caller, title: String, requester: String) async throws -> TicketView {
        let policy = Policy(broker: broker, caller: caller)
        try await policy.requireRole([.technician, .admin], "create tickets", operation: "ticket.new")
        try TicketFields.validate(title: title, requester: requester)
        let ticket = try await broker.store.createTicket(title: title, requester: requester, createdBy: caller.user.name, now: Date())
        guard await broker.recordEvent(TicketCreated(title: title, requester: requester), session: nil, ticket: ticket.id, actor: caller.user.name) else {
            throw TandemError.io("ticket #\(ticket.id) was created but its first event could not be recorded; the broker's operator has been told")
        }
        return ticket.view
    }

    public func list(_ caller: Caller) async throws -> [TicketView] {
        let policy = Policy(broker: broker, caller: caller)
        let store = broker.store
        return try await (policy.access.seesEverything ? store.tickets() : store.tickets(visibleTo: caller.user.name)).map(\.view)
    }

    public func show(_ caller: Caller, _ id: Int) async throws -> TicketDetail {
        let ticket = try await Policy(broker: broker, caller: caller).visibleTicket(id, operation: "ticket.show")
        return TicketDetail(ticket: ticket.view, assignees: try await broker.store.assignees(ticket: id),
                            timeline: try await broker.store.events(ticketID: id))
    }

    public func assign(_ caller: Caller, _ id: Int, to assignee: String) async throws -> TicketView {
        let policy = Policy(broker: broker, caller: caller)
        let ticket = try await policy.visibleTicket(id, operation: "ticket.assign")
        guard policy.access.canAssign(ticket) else {
            try await policy.deny("only an admin or the ticket's creator may assign it", operation: "ticket.assign", ticket: id)
        }
        guard let other = try await broker.store.user(named: assignee), other.status == .active else {
            throw TandemError.notFound("user '\(assignee)'")
        }
        try await broker.store.assign(ticket: id, to: other.name, by: caller.user.name, now: Date())
        guard await broker.recordEvent(TicketAssigned(user: other.name), session: nil, ticket: id, actor: caller.user.name) else {
            throw TandemError.io("the assignment could not be recorded; the broker's operator has been told")
        }
        return ticket.view
    }

    /// What the ticket's helpdesk and webhooks have been sent, wait for, or refused, oldest first.
    public func syncStatus(_ caller: Caller, _ id: Int) async throws -> [DeliveryView] {
        _ = try await Policy(broker: broker, caller: caller).visibleTicket(id, operation: "ticket.sync-status")
        let rows = try await broker.store.deliveries(chain: id)
        let kinds = Dictionary(try await broker.store.events(ids: rows.compactMap(\.eventID)).map { ($0.id, $0.kind) },
                               uniquingKeysWith: { first, _ in first })
        return rows.map { row in
            DeliveryView(id: row.id, sink: row.sink, state: row.state.rawValue,
                         kind: row.eventID.flatMap { kinds[$0] } ?? (row.checkpointID != nil ? "checkpoint" : "?"),
                         eventID: row.eventID, attempts: row.attempts, lastError: row.lastError, created: Double(row.createdMicros) / 1e6,
                         done: row.doneMicros.map { Double($0) / 1e6 }, nextTry: row.state == .pending ? Double(row.nextMicros) / 1e6 : nil)
        }
    }

    /// Puts the ticket's failed deliveries back in line (technicians on their tickets, admins).
    public func resync(_ caller: Caller, _ id: Int) async throws -> ResyncView {
        let policy = Policy(broker: broker, caller: caller)
        try await policy.requireRole([.technician, .admin], "retry a ticket's deliveries", operation: "ticket.resync")
        _ = try await policy.visibleTicket(id, operation: "ticket.resync")
        let requeued = try await broker.store.retryFailed(chain: id, nowMicros: Int64((Date().timeIntervalSince1970 * 1e6).rounded()))
        broker.logger.notice("\(TerminalText.field(caller.user.name, limit: 64)) put \(requeued) failed deliveries of ticket \(id) back in line")
        return ResyncView(ticket: id, requeued: requeued)
    }
}

extension Ticket {
    var view: TicketView {
        TicketView(id: id, title: title, requester: requester, status: status, createdBy: createdBy, created: created.timeIntervalSince1970,
                   external: external)
    }
}
