import TandemAudit
import TandemCore
import TandemStore

/// The role and visibility checks every service makes, each refusal put on record.
struct Policy {
    let broker: Broker
    let caller: Caller

    var user: User { caller.user }
    var access: ReadAccess { ReadAccess(user: user, store: broker.store) }

    /// Refuses, and puts the refusal itself on record.
    func deny(_ why: String, operation: String, session: SessionID? = nil, ticket: Int? = nil) async throws(TandemError) -> Never {
        await broker.recordRefusal(PermissionDenied(command: operation, role: user.role.rawValue, reason: why), session: session, ticket: ticket, actor: user.name)
        throw .permissionDenied(why)
    }

    func requireRole(_ roles: [Role], _ what: String, operation: String) async throws(TandemError) {
        guard roles.contains(user.role) else {
            try await deny("your role (\(user.role.rawValue)) may not \(what)", operation: operation)
        }
    }

    /// The ticket, when this caller may read it. One they may not read is answered exactly like
    /// one that does not exist, and the refusal goes on that ticket's own chain.
    func visibleTicket(_ id: Int, operation: String) async throws -> Ticket {
        let ticket = try await broker.store.ticket(id: id)
        if let ticket, try await access.canSee(ticket) { return ticket }
        if ticket != nil {
            await broker.recordRefusal(PermissionDenied(command: operation, role: user.role.rawValue, reason: "not one of their tickets"),
                                       session: nil, ticket: id, actor: user.name)
        }
        throw TandemError.notFound("ticket #\(id)")
    }

    /// A session on a ticket this caller may read (its events); `content` also needs it to be their
    /// own session (its recordings), unless they read everything.
    func visibleSession(_ id: SessionID, operation: String, content: Bool) async throws -> SessionRecord {
        guard let s = try await broker.store.session(id: id) else { throw TandemError.notFound("session \(id)") }
        do {
            _ = try await visibleTicket(s.ticketID, operation: operation)
        } catch TandemError.notFound {
            throw TandemError.notFound("session \(id)")
        }
        if content && !access.canReadContent(of: s) {
            try await deny("the recordings of session \(id) belong to another technician", operation: operation, session: id, ticket: s.ticketID)
        }
        return s
    }
}
