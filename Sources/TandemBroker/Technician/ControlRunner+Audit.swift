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
            _ = try await visibleTicket(ticket, command: "audit log")
            for e in try await store.events(ticketID: ticket) { emit(e.exportLine + "\n", false) }
            return Status.ok
        case .logSession(let id):
            _ = try await visibleSession(id, command: "audit log", content: false)
            for e in try await store.events(sessionID: id.rawValue) { emit(e.exportLine + "\n", false) }
            return Status.ok
        case .verify(let ticket):
            _ = try await visibleTicket(ticket, command: "audit verify")
            let report = try await bundle(ticket: ticket, forEveryone: true).verify()
            emit(report.summary + "\n", !report.ok)
            return report.ok ? Status.ok : Status.failed
        case .export(let ticket):
            _ = try await visibleTicket(ticket, command: "audit export")
            emitData(try await bundle(ticket: ticket).archive())
            await broker.recordEvent(Exported(), session: nil, ticket: ticket, actor: user.name)
            return Status.ok
        case .recordings(let id):
            _ = try await visibleSession(id, command: "audit recordings", content: true)
            for e in try await store.events(sessionID: id.rawValue) {
                if let sha = e.data["recording_sha256"] { emit(sha + "\n", false) }
            }
            return Status.ok
        case .recording(let id, let sha):
            _ = try await visibleSession(id, command: "audit recording", content: true)
            let named = try await store.events(sessionID: id.rawValue).contains { $0.data["recording_sha256"] == sha }
            guard named, let data = FileManager.default.contents(atPath: recordingPath(sha)) else {
                throw TandemError.notFound("recording \(sha) of session \(id)")
            }
            await broker.recordEvent(RecordingViewed(recordingSha256: sha), session: id, actor: user.name)
            emitData(data)
            return Status.ok
        }
    }

    private func recordingPath(_ sha: String) -> String {
        broker.config.recordingsDirectory + "/" + sha + ".cast"
    }

    /// Everything an auditor needs to check a ticket without the broker. A technician's export
    /// holds the recordings of their own sessions; the others are named as withheld.
    func bundle(ticket: Int, forEveryone: Bool = false) async throws -> AuditBundle {
        // Sign the head first, so the bundle proves its newest event too.
        await broker.checkpointIfUnsigned(chain: ticket)
        let events = try await broker.store.events(ticketID: ticket)
        var mine: [String: Bool] = [:]
        var recordings: [String: Data] = [:]
        var withheld: [String] = []
        for e in events {
            guard let sha = e.data["recording_sha256"] else { continue }
            let allowed: Bool
            if forEveryone || access.seesEverything {
                allowed = true
            } else if let session = e.session {
                if mine[session] == nil {
                    mine[session] = (try await broker.store.session(id: SessionID(rawValue: session))).map(access.canReadContent) ?? false
                }
                allowed = mine[session] ?? false
            } else {
                allowed = false
            }
            if !allowed {
                withheld.append(sha)
            } else if let data = FileManager.default.contents(atPath: recordingPath(sha)) {
                recordings[sha] = data
            }
        }
        return AuditBundle(events: events, checkpoints: try await broker.store.checkpoints(chain: ticket),
                           recordings: recordings, publicKeyText: broker.identity.auditPublicKeyText, withheld: withheld)
    }
}
