import TandemCore
import TandemStore

/// Who may read what: the one place the rule lives (docs/threat-model.md, "Reading other people's work").
///
/// Auditors and admins read everything. A technician reads the tickets they created or were
/// assigned, their whole timelines, and within them the recordings and captured files of their
/// own sessions only. Starting a session needs a ticket one may read, so it grants nothing more.
struct ReadAccess {
    let user: User
    let store: any BrokerStore

    var seesEverything: Bool { user.role != .technician }

    func canSee(_ ticket: Ticket) async throws -> Bool {
        if seesEverything || ticket.createdBy == user.name { return true }
        return try await store.assignees(ticket: ticket.id).contains(user.name)
    }

    /// Recordings and captured files of a session.
    func canReadContent(of session: SessionRecord) -> Bool {
        seesEverything || session.technician == user.name
    }

    /// Who may end a session: its technician, or an admin.
    func canEnd(_ session: SessionRecord) -> Bool {
        user.role == .admin || session.technician == user.name
    }

    /// Who may give a ticket to someone else: an admin, or its creator.
    func canAssign(_ ticket: Ticket) -> Bool {
        user.role == .admin || (user.role == .technician && ticket.createdBy == user.name)
    }
}
