import Foundation
import TandemCore
import TandemStore

// MARK: - Consent, start, end

extension Broker {
    /// The end-user answered; a refusal is final and recorded.
    public func consent(_ id: SessionID, approved: Bool, actor: String) -> Bool {
        guard var s = live[id] else { return false }
        let action = s.lifecycle.consent(approved)
        live[id] = s
        switch action {
        case .openSSH:
            try? store.updateSession(id, state: .approved)
            record("approved", ticket: s.record.ticketID, session: id, actor: actor)
            return true
        case .notifyRefused:
            try? store.updateSession(id, state: .refused, endReason: "refused by user")
            record("refused", ticket: s.record.ticketID, session: id, actor: actor)
            finish(id, with: .refused)
            retire(id)
            return false
        default:
            return false
        }
    }

    /// SSH to the agent is up: technicians may attach from now on.
    public func agentReady(_ id: SessionID, link: AgentLink) {
        guard var s = live[id] else { link.close(); return }
        guard s.lifecycle.sshEstablished() == .announceActive else { link.close(); return }
        s.agent = link
        live[id] = s
        try? store.updateSession(id, state: .active)
        record("started", ticket: s.record.ticketID, session: id, actor: "broker")
        finish(id, with: .approved)
        let limit = s.record.timeLimitSeconds
        let timer = Task { [weak self] in
            do { try await Task.sleep(for: .seconds(limit)) } catch { return }
            await self?.end(id, reason: "time limit reached", actor: "broker")
        }
        live[id]?.timers.append(timer)
    }

    /// Ends a session for `reason`: the technician's open channels and the agent are each
    /// told why, then closing the agent link ends every relayed channel.
    public func end(_ id: SessionID, reason: String, actor: String) {
        guard var s = live[id] else { return }
        let action = s.lifecycle.end(reason: reason)
        let agent = s.agent
        let watches = s.watches.values
        s.agent = nil
        s.watches = [:]
        live[id] = s
        guard case .close = action else { return }
        for watch in watches { watch.tell(reason, false) }
        let state: SessionLifecycle.State = s.lifecycle.state
        try? store.updateSession(id, state: state, endReason: reason)
        record("ended", ticket: s.record.ticketID, session: id, actor: actor,
               ["reason": reason, "bytes_to_agent": String(s.bytesToAgent), "bytes_from_agent": String(s.bytesFromAgent)])
        logger.info("session \(id) ended: \(reason)")
        finish(id, with: .ended(reason))
        retire(id)
        agent?.end(reason: reason)
    }

    /// Watches a technician channel of session `id`: `tell` hears the reason when the session
    /// ends (at once if it already has). Returns a token for `forgetChannel`.
    func watchChannel(_ id: SessionID, user: String, tell: @escaping @Sendable (_ reason: String, _ close: Bool) -> Void) -> Int? {
        guard live[id]?.lifecycle.state == .active else {
            tell(live[id]?.record.endReason ?? "the session is over", false)
            return nil
        }
        watchCounter += 1
        let token = watchCounter
        live[id]?.watches[token] = ChannelWatch(user: user, tell: tell)
        return token
    }

    /// The channel closed: nothing more to tell it.
    func forgetChannel(_ id: SessionID, token: Int) {
        live[id]?.watches[token] = nil
    }

    /// Ends what a previous run left open, so no session stays "active" on record forever.
    public func closeSessionsLeftOpen() {
        guard let stale = try? store.openSessions() else { return }
        for s in stale where live[s.id] == nil {
            let state: SessionLifecycle.State = (s.state == .pending || s.state == .offered) ? .expired : .ended
            try? store.updateSession(s.id, state: state, endReason: "broker restarted")
            record("ended", ticket: s.ticketID, session: s.id, actor: "broker", ["reason": "broker restarted"])
        }
    }

    public func addBytes(_ id: SessionID, toAgent: Int, fromAgent: Int) {
        live[id]?.bytesToAgent += toAgent
        live[id]?.bytesFromAgent += fromAgent
    }

    /// The agent link for a technician who may use `scope` in session `id`, and the session's recording budget.
    func attach(_ id: SessionID, user: String, role: Role, scope: Scope) throws(TandemError) -> (AgentLink, ticket: Int, budget: RecordingBudget) {
        guard let s = live[id] else {
            // Over: its owner (or an admin) hears so; anyone else, that there is no such session.
            if let stored = (try? store.session(id: id)) ?? nil, stored.technician == user || role == .admin {
                throw .invalidArgument("session \(id) is not active: it is over (\(stored.endReason ?? stored.state.rawValue)); start a new one with 'tandem session new'")
            }
            throw .notFound("session \(id)")
        }
        guard isActive(user) else { throw .permissionDenied("your account is disabled") }
        guard role != .auditor else {
            record("permission_denied", ticket: s.record.ticketID, session: id, actor: user,
                   ["command": scope == .shell ? "shell/exec" : scope.rawValue, "role": role.rawValue, "reason": "auditors read, they do not act"])
            throw .permissionDenied("auditors may read sessions but not act in them")
        }
        guard s.record.technician == user || role == .admin else {
            record("attach_refused", ticket: s.record.ticketID, session: id, actor: user, ["reason": "not_owner"])
            // Not "belongs to someone else": that would confirm the session exists.
            throw .notFound("session \(id)")
        }
        guard s.record.scopes.contains(scope) else {
            record("channel_refused", ticket: s.record.ticketID, session: id, actor: user, ["reason": "scope", "scope": scope.rawValue])
            throw .permissionDenied(scope == .files
                ? "the user did not grant file access in session \(id); start a session with --scope shell,files"
                : "the user did not allow '\(scope.rawValue)' in session \(id)")
        }
        guard s.lifecycle.state == .active, let agent = s.agent else {
            throw .invalidArgument("session \(id) is not active (it is \(s.lifecycle.state.rawValue))")
        }
        if config.onRecordingFailure == .endSession, storageTrouble != nil {
            throw .io("broker storage full: nothing more can be recorded, so nothing more may run; the session is ending")
        }
        return (agent, s.record.ticketID, s.budget)
    }

    public func session(_ id: SessionID) -> SessionRecord? { live[id]?.record }

    /// Sessions not yet over (pending, offered, approved, active).
    public var liveSessionCount: Int { live.count }
}
