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

    /// How a returning agent's request is answered.
    enum AgentResumeAnswer: Sendable {
        /// SSH follows; it must show this key.
        case go(SessionID, NIOSSHPublicKey)
        /// Not now (the broker has not seen the old connection go, or another attempt is under
        /// way): the agent tries again.
        case later(String)
        /// Never: the session is over, or the token is not this session's.
        case refused(String)
        /// Another replica holds the session: the connection is passed on to it.
        case forward(SessionID)
    }

    /// A returning agent's token: right, and the session waiting for it, gives the key its SSH must show.
    func resumeAgent(_ request: ResumeRequest, source: String) async -> AgentResumeAnswer {
        let actor = "agent@\(source)"
        func refuse(_ reason: String, _ s: LiveSession?) async -> AgentResumeAnswer {
            // Unknown and wrong are one answer: a stranger learns nothing of which sessions exist.
            await recordResumeRefusal(ResumeRefused(side: "agent", reason: reason, source: source), session: s, actor: actor)
            return .refused("this computer's way back into the session was not accepted; ask your technician for a new code")
        }
        if let id = try? SessionID.parse(request.sessionID), live[id] == nil, let peering,
           let record = (try? await store.session(id: id)) ?? nil, record.state == .active,
           await peering.remoteOwner(of: id) != nil, live[id] == nil {
            // Held by another live replica (the balancer sent the agent elsewhere this time): it is
            // passed on there, and the owner checks its token.
            return .forward(id)
        }
        guard let id = try? SessionID.parse(request.sessionID), let s = live[id], s.lifecycle.state == .active, let back = s.agentReturn else {
            return await refuse("not_waiting", nil)
        }
        let hash = Self.tokenHash(request.token)
        guard hash == back.token || (back.next.map { $0 == hash } ?? false) else { return await refuse("wrong_token", s) }
        guard let current = live[id]?.agentReturn, !current.inProgress else { return .later("another connection is taking up this session") }
        if let old = live[id]?.agent {
            // The agent knows its connection is gone before the broker does (a half-open TCP
            // connection): with the right token, the old link is taken as lost, and the agent
            // comes back once the broker has let it go.
            old.health.markLost()
            old.close()
            return .later("the broker is letting the old connection go")
        }
        guard current.awaySince != nil else { return .later("the session is not waiting yet") }
        live[id]?.agentReturn?.inProgress = true
        live[id]?.agentReturn?.next = Self.tokenHash(request.next)
        return .go(id, current.hostKey)
    }

    /// A refused way back on record, within the refusal budget per source and minute.
    private func recordResumeRefusal(_ refusal: ResumeRefused, session s: LiveSession?, actor: String) async {
        logger.notice("refused a resume from \(refusal.source ?? "?"): \(refusal.reason)")
        guard refusalBudget(ticket: s?.record.ticketID, actor: actor, kind: refusal.kind) else { return }
        await recordEvent(refusal, session: s?.record.id, ticket: s?.record.ticketID, actor: actor)
    }

    /// The returning agent logged in with the session's key: the session and its relays go on.
    func agentResumed(_ id: SessionID, link: AgentLink) {
        guard var s = live[id], var back = s.agentReturn, let away = back.awaySince, s.lifecycle.state == .active, s.pendingEnd == nil else {
            link.close()
            return
        }
        // Gone again before this ran: the session goes on waiting for the next attempt.
        guard link.channel.isActive else {
            live[id]?.agentReturn?.inProgress = false
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

// MARK: - The technician's side

extension Broker {
    /// A technician's connection dropped under their shell: the session waits `resume-grace`
    /// seconds for them to take it up again, then ends with that reason.
    func technicianLost(_ parked: ParkedShell, again: Bool = false) async {
        let id = parked.session
        let grace = config.resumeGrace
        // A secret already waiting (a client that reused one) is not this shell's way back.
        guard let s = live[id], s.lifecycle.state == .active, s.pendingEnd == nil, !stopping, grace > 0,
              s.parkedShells[parked.tokenHash] == nil else {
            if parked.claim() { await parked.end(broker: self) }
            return
        }
        live[id]?.parkedShells[parked.tokenHash] = parked
        if again {
            logger.notice("session \(id): the channel taking up \(TerminalText.field(parked.user, limit: 64))'s shell went too; it waits again", metadata: about(id))
        } else {
            record(TechnicianDisconnected(grace: grace, channel: "shell"), ticket: s.record.ticketID, session: id, actor: parked.user)
        }
        logger.notice("session \(id): \(TerminalText.field(parked.user, limit: 64))'s connection dropped under their shell; waiting \(grace) s", metadata: about(id))
        s.agent?.notice("The technician's connection dropped; their shell is kept for up to \(SpokenDuration.of(seconds: grace)) while they reconnect.")
        let timer = Task { [weak self] in
            do { try await Task.sleep(for: .seconds(grace)) } catch { return }
            await self?.technicianDidNotReturn(parked, grace: grace)
        }
        live[id]?.timers.append(timer)
    }

    private func technicianDidNotReturn(_ parked: ParkedShell, grace: Int) async {
        guard let s = live[parked.session], s.parkedShells[parked.tokenHash] === parked, parked.claim() else { return }
        live[parked.session]?.parkedShells[parked.tokenHash] = nil
        await parked.end(broker: self)
        // Back in another way (a new shell, a command): only the shell they left ends.
        let back = s.watches.contains { $0.key != parked.watchToken && $0.value.user == parked.user }
        guard !back else {
            tellUser(parked.session, "The technician's earlier shell was closed; they are working in another.")
            return
        }
        _ = end(parked.session, reason: "the technician's connection dropped and did not come back within \(SpokenDuration.of(seconds: grace))",
                actor: "broker")
    }

    /// A technician taking up their shell: the token must be the shell's, and the user and key the
    /// ones that opened it. The shell is theirs once this returns.
    func resumeTechnician(_ id: SessionID, token: String, user: String, loginKey: String?, source: String) async -> Result<ParkedShell, TandemError> {
        let hash = Self.tokenHash(token)
        func refuse(_ reason: String, _ message: String) async -> Result<ParkedShell, TandemError> {
            await recordResumeRefusal(ResumeRefused(side: "technician", reason: reason, source: source), session: live[id], actor: user)
            return .failure(.permissionDenied(message))
        }
        guard let s = live[id], s.lifecycle.state == .active, s.pendingEnd == nil else {
            return await refuse("not_waiting", "session \(id) is over; its shell cannot be taken up")
        }
        guard let parked = s.parkedShells[hash] else {
            return await refuse("wrong_token", "no shell of session \(id) is waiting for this client")
        }
        guard parked.user == user, parked.loginKey == loginKey else {
            return await refuse("key", "this shell was opened by another user or key")
        }
        guard parked.claim() else { return await refuse("in_progress", "this shell is being taken up already") }
        live[id]?.parkedShells[hash] = nil
        let seconds = Int(clock.now.timeIntervalSince(parked.since).rounded())
        record(TechnicianResumed(awaySeconds: seconds, channel: "shell"), ticket: s.record.ticketID, session: id, actor: user)
        logger.notice("session \(id): \(TerminalText.field(user, limit: 64)) took their shell up again after \(seconds) s", metadata: about(id))
        return .success(parked)
    }

    /// Shows `text` to the end-user, if their agent is connected.
    func tellUser(_ id: SessionID, _ text: String) {
        live[id]?.agent?.notice(text)
    }

    /// The session ends: shells nobody came back for end with it.
    func endParkedShells(_ id: SessionID) {
        guard let parked = live[id]?.parkedShells.values, !parked.isEmpty else { return }
        live[id]?.parkedShells = [:]
        for shell in parked where shell.claim() {
            Task { await shell.end(broker: self) }
        }
    }
}
