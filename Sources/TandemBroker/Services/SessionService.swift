import Foundation
import TandemAPI
import TandemAudit
import TandemCore
import TandemStore

/// Sessions: ask an end-user for one, learn how it turned out, read it, end it.
public struct SessionService: Sendable {
    let broker: Broker

    /// Issues a code for a new session on a ticket the caller may read; a helpdesk ticket must
    /// exist and be open there first.
    public func request(_ caller: Caller, ticket reference: TicketReference, scopes: [Scope], timeLimit: Int?,
                        idleLimit: Int? = nil) async throws -> SessionOffer {
        let policy = Policy(broker: broker, caller: caller)
        try await policy.requireRole([.technician, .admin], "start sessions", operation: "session.new")
        let ticket = try await TicketLinks(broker: broker, policy: policy).ticket(for: reference)
        let (id, code) = try await broker.createSession(technician: caller.user.name, ticketID: ticket.id, scopes: scopes, timeLimit: timeLimit,
                                                       idleLimit: idleLimit)
        return SessionOffer(session: id.rawValue, code: code.digits, expiresIn: Int(broker.config.codeLifetime))
    }

    /// Waits until the end-user approves or refuses, or the code expires.
    public func outcome(of id: SessionID) async -> PairingUpdate {
        switch await broker.waitForOutcome(id) {
        case .approved: PairingUpdate(type: "approved", session: id.rawValue)
        case .refused: PairingUpdate(type: "refused", session: id.rawValue)
        case .expired: PairingUpdate(type: "expired", session: id.rawValue)
        case .ended(let reason): PairingUpdate(type: "ended", session: id.rawValue, reason: reason)
        }
    }

    public func show(_ caller: Caller, _ id: SessionID) async throws -> SessionView {
        let record = try await Policy(broker: broker, caller: caller).visibleSession(id, operation: "session.show", content: false)
        return (await broker.session(id) ?? record).view
    }

    /// Ends a live session (its technician or an admin); ending one already over says so.
    public func end(_ caller: Caller, _ id: SessionID) async throws -> SessionEnded {
        let user = caller.user
        let access = Policy(broker: broker, caller: caller).access
        guard let s = await broker.session(id) else {
            if let stored = try await broker.store.session(id: id), access.canEnd(stored) {
                // Not over: live on another replica, which ends it when asked through the database.
                if await broker.heldElsewhere(stored) {
                    let reason = try await broker.endElsewhere(stored, reason: "ended by technician", actor: user.name)
                    return SessionEnded(session: id.rawValue, alreadyOver: false, reason: reason)
                }
                return SessionEnded(session: id.rawValue, alreadyOver: true, reason: stored.endReason ?? stored.state.rawValue)
            }
            throw TandemError.notFound("session \(id)")
        }
        guard access.canEnd(s) else {
            // Answered like a session that does not exist; the refusal is on its ticket's chain.
            await broker.recordRefusal(PermissionDenied(command: "session.end", role: user.role.rawValue, reason: "not their session"),
                                       session: id, ticket: s.ticketID, actor: user.name)
            throw TandemError.notFound("session \(id)")
        }
        // Answered once the end is on record (after every channel's end).
        let reason = "ended by technician"
        guard await broker.end(id, reason: reason, actor: user.name).stored() else {
            throw TandemError.io("session \(id) ended, but the broker could not record its end; its operator has been told")
        }
        return SessionEnded(session: id.rawValue, alreadyOver: false, reason: reason)
    }
}

extension SessionRecord {
    var view: SessionView {
        SessionView(id: id.rawValue, ticket: ticketID, technician: technician, scopes: scopes.map(\.rawValue), state: state.rawValue,
                    created: created.timeIntervalSince1970, timeLimit: timeLimitSeconds, endReason: endReason)
    }
}
