import Foundation
import TandemAudit
import TandemCore
import TandemStore

// MARK: - Audit commands

extension ControlRunner {
    func runAudit(_ command: ControlCommand.Audit) async throws -> Int32 {
        let store = broker.store
        switch command {
        case .logTicket(let ticket):
            try await requireTicketAccess(ticket)
            for e in try store.events(ticketID: ticket) { emit(e.exportLine + "\n", false) }
            return Status.ok
        case .logSession(let id):
            _ = try await requireSessionAccess(id)
            for e in try store.events(sessionID: id.rawValue) { emit(e.exportLine + "\n", false) }
            return Status.ok
        case .verify(let ticket):
            try await requireTicketAccess(ticket)
            let report = try await bundle(ticket: ticket).verify()
            emit(report.summary + "\n", !report.ok)
            return report.ok ? Status.ok : Status.failed
        case .export(let ticket):
            try await requireTicketAccess(ticket)
            emitData(try await bundle(ticket: ticket).archive())
            await broker.recordEvent("exported", session: nil, ticket: ticket, actor: user.name)
            return Status.ok
        case .recordings(let id):
            _ = try await requireSessionAccess(id)
            for e in try store.events(sessionID: id.rawValue) {
                if let sha = e.data["recording_sha256"] { emit(sha + "\n", false) }
            }
            return Status.ok
        case .recording(let id, let sha):
            _ = try await requireSessionAccess(id)
            let named = try store.events(sessionID: id.rawValue).contains { $0.data["recording_sha256"] == sha }
            guard named, let data = FileManager.default.contents(atPath: recordingPath(sha)) else {
                throw TandemError.notFound("recording \(sha) of session \(id)")
            }
            await broker.recordEvent("recording_viewed", session: id, actor: user.name, ["recording_sha256": sha])
            emitData(data)
            return Status.ok
        }
    }

    private func recordingPath(_ sha: String) -> String {
        broker.config.recordingsDirectory + "/" + sha + ".cast"
    }

    /// Everything an auditor needs to check a ticket without the broker.
    func bundle(ticket: Int) async throws -> AuditBundle {
        // Sign the head first, so the bundle proves its newest event too.
        await broker.checkpointIfUnsigned(chain: ticket)
        let events = try broker.store.events(ticketID: ticket)
        var recordings: [String: Data] = [:]
        for e in events {
            if let sha = e.data["recording_sha256"], let data = FileManager.default.contents(atPath: recordingPath(sha)) {
                recordings[sha] = data
            }
        }
        return AuditBundle(events: events, checkpoints: try broker.store.checkpoints(chain: ticket),
                           recordings: recordings, publicKeyText: broker.identity.auditPublicKeyText)
    }
}
