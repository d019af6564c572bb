import Foundation
import TandemCore
import TandemStore

/// Runs the broker's own commands (tickets, sessions) for one logged-in user.
struct ControlRunner: Sendable {
    let broker: Broker
    let user: User
    /// Writes to the technician's channel: stdout when `false`, stderr when `true`.
    let emit: @Sendable (String, _ stderr: Bool) -> Void

    /// Exit statuses the CLI maps to messages.
    enum Status {
        static let ok: Int32 = 0
        static let failed: Int32 = 1
        static let usage: Int32 = 2
        static let refused: Int32 = 4
        static let expired: Int32 = 5
        static let ended: Int32 = 6
    }

    func run(_ command: ControlCommand) async -> Int32 {
        do {
            return try await execute(command)
        } catch let error as TandemError {
            emit("tandem: \(error)\n", true)
            if case .invalidArgument = error { return Status.usage }
            return Status.failed
        } catch {
            emit("tandem: \(error)\n", true)
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
            try requireRole([.technician, .admin], "create tickets")
            guard !title.isEmpty, title.count <= 200 else { throw TandemError.invalidArgument("a ticket title has 1 to 200 characters") }
            let ticket = try store.createTicket(title: title, requester: requester, now: Date())
            await broker.recordEvent("ticket_created", session: nil, ticket: ticket.id, actor: user.name, ["title": title, "requester": requester])
            emit("Ticket #\(ticket.id) created: \(ticket.title)\n", false)
            return Status.ok
        case .ticketList:
            for t in try store.tickets() {
                emit("#\(t.id)\t\(t.status)\t\(t.requester)\t\(t.title)\n", false)
            }
            return Status.ok
        case .ticketShow(let id):
            guard let t = try store.ticket(id: id) else { throw TandemError.notFound("ticket #\(id)") }
            emit("Ticket #\(t.id): \(t.title)\nRequester: \(t.requester)\nStatus: \(t.status)\nTimeline:\n", false)
            for e in try store.events(ticketID: id) {
                let data = e.data.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                emit("  \(ISO8601DateFormatter().string(from: e.time))  \(e.sessionID ?? "-")  \(e.actor)  \(e.kind)  \(data)\n", false)
            }
            return Status.ok
        case .sessionNew(let ticket, let scopes, let limit):
            try requireRole([.technician, .admin], "start sessions")
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
        case .sessionEnd(let id):
            guard let s = await broker.session(id) else { throw TandemError.notFound("session \(id)") }
            guard s.technician == user.name || user.role == .admin else { throw TandemError.permissionDenied("session \(id) belongs to another technician") }
            await broker.end(id, reason: "ended by technician", actor: user.name)
            emit("Session \(id) ended.\n", false)
            return Status.ok
        case .shell, .exec:
            return Status.usage
        }
    }

    private func requireRole(_ roles: [Role], _ what: String) throws {
        guard roles.contains(user.role) else {
            throw TandemError.permissionDenied("your role (\(user.role.rawValue)) may not \(what)")
        }
    }
}
