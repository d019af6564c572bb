import Foundation
import TandemAPI
import TandemAudit
import TandemCore
import TandemHelpdesk
import TandemStore
import TandemText

/// Links sessions to helpdesk tickets: before a code is issued, the helpdesk is asked whether
/// the ticket exists and is open; the broker's own ticket record then holds the link (and keys
/// the audit chain), made the first time the helpdesk ticket is named.
struct TicketLinks {
    let broker: Broker
    let policy: Policy

    /// Why a session cannot be linked to the ticket it names: a message naming the ticket.
    enum Refusal: Error, CustomStringConvertible {
        case noSuchTicket(String, HelpdeskSystem)
        case closed(String, HelpdeskSystem, status: String)
        case notConfigured(HelpdeskSystem)
        case unreachable(String, HelpdeskSystem, HelpdeskError)

        var description: String {
            switch self {
            case .noSuchTicket(let ref, let system):
                "\(ref) does not exist in \(system.displayName) (or the broker's \(system.displayName) account cannot see it); no code was issued"
            case .closed(let ref, let system, let status):
                "\(ref) is \(TerminalText.field(status, limit: 40)) in \(system.displayName); reopen it there before starting a session; no code was issued"
            case .notConfigured(let system):
                "this broker is not linked to \(system.displayName) (its operator sets \(system.rawValue)-url); no code was issued"
            case .unreachable(let ref, let system, _):
                "\(system.displayName) could not be reached to check \(ref); try again in a moment; no code was issued"
            }
        }
    }

    /// The broker's ticket a session on `reference` belongs to, made and linked if need be.
    func ticket(for reference: TicketReference) async throws -> Ticket {
        let helpdesks = broker.helpdesks
        switch helpdesks.resolve(reference) {
        case .number(let n):
            return try await policy.visibleTicket(n, operation: "session.new")
        case .external(let system, let n):
            let ref = TicketReference.external(system, n).description
            guard let sink = helpdesks.noteSinks[system] else { throw Refusal.notConfigured(system) }
            // Someone else's linked ticket is refused before the helpdesk is asked anything.
            let linked = try await broker.store.ticket(external: ref)
            if let linked { _ = try await visible(linked, reference: ref) }
            let outside: ExternalTicket
            do {
                outside = try await sink.ticket(n)
            } catch .noSuchTicket {
                throw Refusal.noSuchTicket(ref, system)
            } catch {
                throw Refusal.unreachable(ref, system, error)
            }
            guard outside.isOpen else { throw Refusal.closed(ref, system, status: outside.status) }
            if let linked { return linked }
            return try await link(outside, reference: ref)
        }
    }

    /// The broker's ticket linked to `reference`, if the caller may work on it; if not, the
    /// technician learns which ticket it is and who can give it to them (they named the helpdesk
    /// ticket, so its link is no secret to them).
    private func visible(_ linked: Ticket, reference: String) async throws -> Ticket {
        do {
            return try await policy.visibleTicket(linked.id, operation: "session.new")
        } catch TandemError.notFound {
            throw TandemError.permissionDenied("\(reference) is linked to ticket #\(linked.id), which is not one of yours; its creator or an "
                                               + "admin can give it to you with 'tandem ticket assign \(linked.id) \(policy.caller.user.name)'")
        }
    }

    /// The broker's record of a helpdesk ticket, made by the first technician who names it.
    private func link(_ outside: ExternalTicket, reference: String) async throws -> Ticket {
        let user = policy.caller.user.name
        // The subject is the helpdesk's text: its control characters made visible, as a title typed
        // here could not hold them, and cut to a title's length.
        let title = outside.subject.isEmpty ? reference : TerminalText.field(outside.subject, limit: TicketFields.maxTitleCharacters - 1)
        let ticket: Ticket
        do {
            ticket = try await broker.store.createTicket(title: title, requester: reference, createdBy: user, external: reference, now: Date())
        } catch .constraint {
            // Another technician linked it a moment ago.
            guard let linked = try await broker.store.ticket(external: reference) else { throw TandemError.notFound("ticket \(reference)") }
            return try await visible(linked, reference: reference)
        }
        guard await broker.recordEvent(TicketCreated(title: title, requester: reference, external: reference), session: nil,
                                       ticket: ticket.id, actor: user) else {
            throw TandemError.io("ticket #\(ticket.id) was linked to \(reference) but its first event could not be recorded; the broker's operator has been told")
        }
        return ticket
    }
}
