import Crypto
import Foundation
import NIOCore
import NIOSSH
import TandemAudit
import TandemCore
import TandemText

/// What a session knows to let its agent back in after a drop.
struct AgentReturn {
    /// The pinned host key the returning agent's SSH must show.
    var hostKey: NIOSSHPublicKey
    /// SHA-256 of the token that lets it back in now.
    var token: [UInt8]
    /// SHA-256 of the token named by an attempt that got as far as SSH: a retry may use it.
    var next: [UInt8]?
    /// An attempt is between its token and its SSH login.
    var inProgress = false
    /// Since when the agent is away (nil while it is connected).
    var awaySince: Date?
    var graceTimer: Task<Void, Never>?
}

/// Relays whose agent channel was lost with the connection, waiting to be taken up again.
typealias RelayResumer = @Sendable (AgentLink) -> Void

extension Broker {
    static func tokenHash(_ token: String) -> [UInt8] { Array(SHA256.hash(data: Data(token.utf8))) }

    /// The agent's connection ended. Lost (not closed) while the session is active and the agent
    /// can come back: the session waits `resume-grace` seconds. Otherwise it ends, as before.
    /// `established`: it reached its SSH login; `resuming`: it was an agent coming back.
    func agentGone(_ id: SessionID, link: AgentLink, established: Bool, resuming: Bool) {
        guard let s = live[id] else { return }
        guard established else {
            // An attempt to come back that did not reach its login: the next may try.
            if resuming { live[id]?.agentReturn?.inProgress = false } else { _ = end(id, reason: "agent disconnected", actor: "agent") }
            return
        }
        // Only the session's own link counts (not one it has already replaced).
        guard let current = s.agent, current.channel === link.channel else { return }
        let grace = config.resumeGrace
        guard link.health.lost, s.lifecycle.state == .active, s.pendingEnd == nil, !stopping, grace > 0, s.agentReturn != nil else {
            _ = end(id, reason: "agent disconnected", actor: "agent")
            return
        }
        live[id]?.agent = nil
        live[id]?.agentReturn?.awaySince = clock.now
        live[id]?.agentReturn?.inProgress = false
        record(AgentDisconnected(grace: grace), ticket: s.record.ticketID, session: id, actor: "broker")
        logger.notice("session \(id): the agent's connection dropped; waiting \(grace) s for it to come back", metadata: about(id))
        tellWatches(id, "the user's connection dropped; the session waits up to \(SpokenDuration.of(seconds: grace)) for it to come back")
        let timer = Task { [weak self] in
            do { try await Task.sleep(for: .seconds(grace)) } catch { return }
            await self?.agentDidNotReturn(id, grace: grace)
        }
        live[id]?.agentReturn?.graceTimer = timer
        live[id]?.timers.append(timer)
    }

    private func agentDidNotReturn(_ id: SessionID, grace: Int) {
        guard live[id]?.agentReturn?.awaySince != nil, live[id]?.agent == nil else { return }
        _ = end(id, reason: "the end-user's connection dropped and did not come back within \(SpokenDuration.of(seconds: grace))", actor: "broker")
    }

    /// A returning agent's token: right, and the session waiting for it, gives the key its SSH must show.
    func resumeAgent(_ request: ResumeRequest, source: String) -> Result<(SessionID, NIOSSHPublicKey), TandemError> {
        func refuse(_ reason: String, _ message: String, _ s: LiveSession? = nil) -> Result<(SessionID, NIOSSHPublicKey), TandemError> {
            record(ResumeRefused(side: "agent", reason: reason, source: source), ticket: s?.record.ticketID, session: s?.record.id, actor: "agent@\(source)")
            logger.notice("refused an agent's resume from \(source): \(reason)")
            return .failure(.permissionDenied(message))
        }
        guard let id = try? SessionID.parse(request.sessionID), let s = live[id], s.lifecycle.state == .active, let back = s.agentReturn else {
            return refuse("not_waiting", "this session is over or unknown; ask your technician for a new code")
        }
        let hash = Self.tokenHash(request.token)
        guard hash == back.token || (back.next.map { $0 == hash } ?? false) else {
            return refuse("wrong_token", "this computer's way back into the session was not accepted; ask your technician for a new code", s)
        }
        guard back.awaySince != nil, s.agent == nil else { return refuse("not_waiting", "the session is connected already", s) }
        guard !back.inProgress else { return refuse("in_progress", "another connection is taking up this session; try again in a moment", s) }
        live[id]?.agentReturn?.inProgress = true
        live[id]?.agentReturn?.next = Self.tokenHash(request.next)
        return .success((id, back.hostKey))
    }

    /// The returning agent logged in with the session's key: the session and its relays go on.
    func agentResumed(_ id: SessionID, link: AgentLink) {
        guard var s = live[id], var back = s.agentReturn, let away = back.awaySince, s.lifecycle.state == .active, s.pendingEnd == nil else {
            link.close()
            return
        }
        // The token is used: only the one the agent named for next time lets it back in again.
        if let next = back.next { back.token = next }
        back.next = nil
        back.inProgress = false
        back.awaySince = nil
        back.graceTimer?.cancel()
        back.graceTimer = nil
        s.agentReturn = back
        s.agent = link
        let waiting = s.suspendedRelays
        s.suspendedRelays = [:]
        live[id] = s
        let seconds = Int(clock.now.timeIntervalSince(away).rounded())
        record(AgentResumed(awaySeconds: seconds), ticket: s.record.ticketID, session: id, actor: "broker")
        logger.notice("session \(id): the agent is back after \(seconds) s; taking up \(waiting.count) channel(s)", metadata: about(id))
        tellWatches(id, "the user's connection is back")
        for (_, resume) in waiting { resume(link) }
        link.people(people(of: s))
    }

    /// A relay lost its agent channel with the connection: it is taken up again when the agent
    /// returns (at once, if it already has).
    func suspendRelay(_ id: SessionID, tag: Int, resume: @escaping RelayResumer) {
        guard let s = live[id], s.pendingEnd == nil else { return }
        if let agent = s.agent, !agent.health.lost {
            resume(agent)
        } else {
            live[id]?.suspendedRelays[tag] = resume
        }
    }
}
