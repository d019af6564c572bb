import Foundation
import TandemAudit
import TandemCore
import TandemStore
import TandemText

/// Runs the broker's own commands (tickets, sessions, audit) for one logged-in user.
struct ControlRunner: Sendable {
    let broker: Broker
    let user: User
    /// Writes text to the technician's channel: stdout when `false`, stderr when `true`.
    let emit: @Sendable (String, _ stderr: Bool) -> Void
    /// Writes raw bytes to stdout (exports, recordings).
    let emitData: @Sendable (Data) -> Void

    /// Exit statuses the CLI maps to messages.
    enum Status {
        static let ok: Int32 = 0
        static let failed: Int32 = 1
        static let usage: Int32 = 2
        static let denied: Int32 = 3
        static let refused: Int32 = 4
        static let expired: Int32 = 5
        static let ended: Int32 = 6
    }

    var access: ReadAccess { ReadAccess(user: user, store: broker.store) }

    func run(_ command: ControlCommand) async -> Int32 {
        do {
            // The operator may have disabled them since they logged in.
            guard await broker.isActive(user.name) else { throw TandemError.permissionDenied("your account is disabled") }
            return try await execute(command)
        } catch let error as TandemError {
            emit("tandem: \(TerminalText.escape("\(error)"))\n", true)
            switch error {
            case .invalidArgument: return Status.usage
            case .permissionDenied: return Status.denied
            default: return Status.failed
            }
        } catch {
            emit("tandem: \(TerminalText.escape("\(error)"))\n", true)
            return Status.failed
        }
    }

    private func execute(_ command: ControlCommand) async throws -> Int32 {
        let store = broker.store
        switch command {
        case .help:
            emit(ControlCommand.usage + "\n", false)
            return Status.ok
        case .ticketNew(let title, let requester):
            try await requireRole([.technician, .admin], "create tickets", command: "ticket new")
            try TicketFields.validate(title: title, requester: requester)
            let ticket = try await store.createTicket(title: title, requester: requester, createdBy: user.name, now: Date())
            guard await broker.recordEvent(TicketCreated(title: title, requester: requester), session: nil, ticket: ticket.id, actor: user.name) else {
                throw TandemError.io("ticket #\(ticket.id) was created but its first event could not be recorded; the broker's operator has been told")
            }
            emit("Ticket #\(ticket.id) created: \(ticket.title)\n", false)
            return Status.ok
        case .ticketList:
            for t in try await (access.seesEverything ? store.tickets() : store.tickets(visibleTo: user.name)) {
                emit("#\(t.id)\t\(TerminalText.escape(t.status))\t\(TerminalText.escape(t.requester))\t\(TerminalText.escape(t.title))\n", false)
            }
            return Status.ok
        case .ticketShow(let id):
            let t = try await visibleTicket(id, command: "ticket show")
            emit("Ticket #\(t.id): \(TerminalText.escape(t.title))\nRequester: \(TerminalText.escape(t.requester))\n"
                 + "Status: \(TerminalText.escape(t.status))\nTimeline:\n", false)
            let assignees = try await store.assignees(ticket: id)
            if !assignees.isEmpty { emit("Assigned to: \(assignees.map { TerminalText.escape($0) }.joined(separator: ", "))\n", false) }
            for e in try await store.events(ticketID: id) { emit("  \(e.humanLine)\n", false) }
            return Status.ok
        case .ticketAssign(let id, let assignee):
            let t = try await visibleTicket(id, command: "ticket assign")
            guard access.canAssign(t) else {
                try await deny("only an admin or the ticket's creator may assign it", command: "ticket assign", ticket: id)
            }
            guard let other = try await store.user(named: assignee), other.status == .active else {
                throw TandemError.notFound("user '\(TerminalText.escape(assignee))'")
            }
            try await store.assign(ticket: id, to: other.name, by: user.name, now: Date())
            guard await broker.recordEvent(TicketAssigned(user: other.name), session: nil, ticket: id, actor: user.name) else {
                throw TandemError.io("the assignment could not be recorded; the broker's operator has been told")
            }
            emit("Ticket #\(id) assigned to \(other.name).\n", false)
            return Status.ok
        case .sessionNew(let ticket, let scopes, let limit):
            try await requireRole([.technician, .admin], "start sessions", command: "session new")
            _ = try await visibleTicket(ticket, command: "session new")
            return try await newSession(ticket: ticket, scopes: scopes, limit: limit)
        case .sessionEnd(let id):
            guard let s = await broker.session(id) else {
                // Already over: saying so to its owner (or an admin) makes 'session end' safe to repeat.
                if let stored = try await store.session(id: id), stored.technician == user.name || user.role == .admin {
                    emit("Session \(id) is already over (\(TerminalText.escape(stored.endReason ?? stored.state.rawValue))).\n", false)
                    return Status.ok
                }
                throw TandemError.notFound("session \(id)")
            }
            guard s.technician == user.name || user.role == .admin else {
                // Answered like a session that does not exist; the refusal is on its ticket's chain.
                await broker.recordEvent(PermissionDenied(command: "session end", role: user.role.rawValue, reason: "not their session"),
                                         session: id, ticket: s.ticketID, actor: user.name)
                throw TandemError.notFound("session \(id)")
            }
            // Answered once the end is on record (after every channel's end).
            guard await broker.end(id, reason: "ended by technician", actor: user.name).stored() else {
                throw TandemError.io("session \(id) ended, but the broker could not record its end; its operator has been told")
            }
            emit("Session \(id) ended.\n", false)
            return Status.ok
        case .audit(let audit):
            return try await runAudit(audit)
        case .shell, .exec, .sftp:
            return Status.usage
        }
    }

    private func newSession(ticket: Int, scopes: [Scope], limit: Int?) async throws -> Int32 {
        let (id, code) = try await broker.createSession(technician: user.name, ticketID: ticket, scopes: scopes, timeLimit: limit)
        let lifetime = Int(broker.config.codeLifetime)
        emit(#"{"type":"code","session":"\#(id)","code":"\#(code.digits)","expires_in":\#(lifetime)}"# + "\n", false)
        switch await broker.waitForOutcome(id) {
        case .approved:
            emit(#"{"type":"approved","session":"\#(id)"}"# + "\n", false)
            return Status.ok
        case .refused:
            emit(#"{"type":"refused","session":"\#(id)"}"# + "\n", false)
            return Status.refused
        case .expired:
            emit(#"{"type":"expired","session":"\#(id)"}"# + "\n", false)
            return Status.expired
        case .ended(let reason):
            emit(#"{"type":"ended","session":"\#(id)","reason":"\#(reason)"}"# + "\n", false)
            return Status.ended
        }
    }
}

// MARK: - Roles

extension ControlRunner {
    /// Refuses, and puts the refusal itself on record.
    func deny(_ why: String, command: String, session: SessionID? = nil, ticket: Int? = nil) async throws -> Never {
        await broker.recordEvent(PermissionDenied(command: command, role: user.role.rawValue, reason: why), session: session, ticket: ticket, actor: user.name)
        throw TandemError.permissionDenied(why)
    }

    func requireRole(_ roles: [Role], _ what: String, command: String) async throws {
        guard roles.contains(user.role) else {
            try await deny("your role (\(user.role.rawValue)) may not \(what)", command: command)
        }
    }

    /// The ticket, when this user may read it. One they may not read is answered exactly like
    /// one that does not exist, and the refusal goes on that ticket's own chain.
    func visibleTicket(_ id: Int, command: String) async throws -> Ticket {
        let ticket = try await broker.store.ticket(id: id)
        if let ticket, try await access.canSee(ticket) { return ticket }
        if ticket != nil {
            await broker.recordEvent(PermissionDenied(command: command, role: user.role.rawValue, reason: "not one of their tickets"),
                                     session: nil, ticket: id, actor: user.name)
        }
        throw TandemError.notFound("ticket #\(id)")
    }

    /// A session on a ticket this user may read (its events); `content` also needs it to be their
    /// own session (its recordings), unless they read everything.
    func visibleSession(_ id: SessionID, command: String, content: Bool) async throws -> SessionRecord {
        guard let s = try await broker.store.session(id: id) else { throw TandemError.notFound("session \(id)") }
        do {
            _ = try await visibleTicket(s.ticketID, command: command)
        } catch TandemError.notFound {
            throw TandemError.notFound("session \(id)")
        }
        if content && !access.canReadContent(of: s) {
            try await deny("the recordings of session \(id) belong to another technician", command: command, session: id, ticket: s.ticketID)
        }
        return s
    }
}
