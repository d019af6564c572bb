import Foundation
import TandemAPI
import TandemAudit
import TandemCore
import TandemStore

extension TicketService {
    /// The tickets the caller may read that match `query`, newest first, one page of them.
    public func search(_ caller: Caller, _ query: TicketQuery) async throws -> TicketPage {
        let visible = try await list(caller)
        var matched: [TicketView] = []
        for ticket in visible.reversed() where Self.matches(ticket, query) {
            if let who = query.technician, ticket.createdBy != who, !(try await broker.store.assignees(ticket: ticket.id).contains(who)) {
                continue
            }
            matched.append(ticket)
        }
        let page = min(max(1, query.page), 1_000_000)
        let start = min(matched.count, (page - 1) * TicketQuery.pageSize)
        let slice = matched[start..<min(matched.count, start + TicketQuery.pageSize)]
        return TicketPage(tickets: Array(slice), total: matched.count, page: page)
    }

    static func matches(_ ticket: TicketView, _ query: TicketQuery) -> Bool {
        if let status = query.status, ticket.status != status { return false }
        if let since = query.since, ticket.created < since.timeIntervalSince1970 { return false }
        // `until` names a day: the whole of it is included.
        if let until = query.until, ticket.created >= until.timeIntervalSince1970 + 86_400 { return false }
        if let text = query.text?.lowercased(), !text.isEmpty {
            let fields = ["#\(ticket.id)", "\(ticket.id)", ticket.title, ticket.requester, ticket.external ?? ""]
            if !fields.contains(where: { $0.lowercased().contains(text) }) { return false }
        }
        return true
    }

    /// The sessions a ticket's timeline names, in the order they began; `timeline` is the ticket's,
    /// when the caller has just read it (`show`), so it is not read twice.
    public func sessions(_ caller: Caller, _ id: Int, timeline: [AuditEvent]? = nil) async throws -> [SessionView] {
        _ = try await Policy(broker: broker, caller: caller).visibleTicket(id, operation: "ticket.show")
        var seen = Set<String>()
        var views: [SessionView] = []
        let events: [AuditEvent]
        if let timeline { events = timeline } else { events = try await broker.store.events(ticketID: id) }
        for event in events where event.chain == id {
            guard let sid = event.session, seen.insert(sid).inserted else { continue }
            let sessionID = SessionID(rawValue: sid)
            if let record = try await broker.store.session(id: sessionID) {
                views.append((await broker.session(sessionID) ?? record).view)
            }
        }
        return views
    }
}
