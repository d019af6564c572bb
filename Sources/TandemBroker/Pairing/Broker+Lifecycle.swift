import Foundation
import NIOSSH
import TandemAudit
import TandemCore
import TandemStore
import TandemText

// MARK: - Consent, start, end

extension Broker {
    /// The end-user answered; a refusal is final and recorded.
    public func consent(_ id: SessionID, approved: Bool, actor: String, hostKey: NIOSSHPublicKey? = nil,
                        resumeToken: String? = nil) async -> Bool {
        guard var s = live[id] else { return false }
        if approved, let hostKey, let resumeToken {
            s.agentReturn = AgentReturn(hostKey: hostKey, token: Self.tokenHash(resumeToken))
        }
        let action = s.lifecycle.consent(approved)
        live[id] = s
        switch action {
        case .openSSH:
            journal.submitState(id, .approved)
            // Nothing is opened to the user's machine until their yes is on record.
            return await record(Approved(), ticket: s.record.ticketID, session: id, actor: actor).stored()
        case .notifyRefused:
            journal.submitState(id, .refused, endReason: "refused by user")
            record(Refused(), ticket: s.record.ticketID, session: id, actor: actor)
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
        journal.submitState(id, .active)
        record(Started(), ticket: s.record.ticketID, session: id, actor: "broker")
        finish(id, with: .approved)
        let limit = s.record.timeLimitSeconds
        let timer = Task { [weak self] in
            do { try await Task.sleep(for: .seconds(limit)) } catch { return }
            await self?.end(id, reason: "time limit reached", actor: "broker")
        }
        live[id]?.timers.append(timer)
        // Idle from now: the minutes the user took to answer are not the technician's silence.
        s.activity.touch()
        live[id]?.activeSince = clock.now
        live[id]?.timers.append(idleWatch(id, limit: s.idleLimit, activity: s.activity))
    }

    /// Ends the session once nothing has crossed its relay for `limit` seconds, after warning both
    /// sides a minute before (half the limit, for limits under two minutes). Runs until cancelled
    /// with the session's other timers; each turn sleeps until the next thing it could do.
    private func idleWatch(_ id: SessionID, limit: Int, activity: SessionActivity) -> Task<Void, Never> {
        let lead = min(60, Double(limit) / 2)
        let warnAt = Double(limit) - lead
        return Task { [weak self] in
            var warned = false
            while !Task.isCancelled {
                let quiet = activity.quietSeconds
                if quiet >= Double(limit) {
                    await self?.end(id, reason: "idle limit reached: no input or output for \(SpokenDuration.of(seconds: limit))", actor: "broker")
                    return
                }
                if quiet >= warnAt, !warned {
                    warned = true
                    await self?.warnIdle(id, quiet: Int(quiet), left: Int((Double(limit) - quiet).rounded(.up)))
                } else if quiet < warnAt {
                    warned = false
                }
                let next = quiet < warnAt ? warnAt - quiet : Double(limit) - quiet
                do { try await Task.sleep(for: .milliseconds(Int(max(0.1, next) * 1000))) } catch { return }
            }
        }
    }

    /// Both sides hear that the session is about to end for being idle.
    private func warnIdle(_ id: SessionID, quiet: Int, left: Int) {
        guard let s = live[id], s.lifecycle.state == .active else { return }
        let text = "no input or output for \(SpokenDuration.of(seconds: quiet)): this session ends in \(SpokenDuration.of(seconds: left)) unless something is typed or shown"
        logger.info("session \(id): \(text)", metadata: about(id))
        for watch in s.watches.values { watch.tell(text, .warning) }
        s.agent?.notice("The session has been idle for \(SpokenDuration.of(seconds: quiet)); it ends in \(SpokenDuration.of(seconds: left)) unless the technician goes on.")
    }

    /// "lasted 12 min 31 s; 3 commands, 1 shell, 2 files moved (1 up, 1 down)".
    static func summary(_ s: LiveSession, now: Date) -> String {
        let lasted = Int(now.timeIntervalSince(s.activeSince ?? now))
        let files = s.activity.filesMoved
        let moved = files.up + files.down
        let counted = [
            s.commands == 1 ? "1 command" : "\(s.commands) commands",
            s.shells == 1 ? "1 shell" : "\(s.shells) shells",
            moved == 0 ? "no files moved" : "\(moved) file\(moved == 1 ? "" : "s") moved (\(files.up) up, \(files.down) down)",
        ]
        return "lasted \(SpokenDuration.of(seconds: lasted)); " + counted.joined(separator: ", ")
    }


    /// Ends a session for `reason`: the technician's open channels and the agent are each
    /// told why, then closing the agent link ends every relayed channel. `ended` is written
    /// once the last channel's end is on record, so it is the session's last event; the
    /// receipt answers when it is stored.
    @discardableResult
    public func end(_ id: SessionID, reason: String, actor: String) -> EventReceipt {
        guard var s = live[id] else { return .answered(true) }
        if let pending = s.pendingEnd { return pending.receipt }
        let action = s.lifecycle.end(reason: reason)
        guard case .close = action else { return .answered(true) }
        let agent = s.agent
        let watches = s.watches.values
        let receipt = EventReceipt()
        s.agent = nil
        s.watches = [:]
        s.pendingEnd = PendingEnd(reason: reason, actor: actor, receipt: receipt)
        live[id] = s
        endParkedShells(id)
        // Both sides see what the session came to, beside why it ended (the record keeps the reason alone).
        let told = s.activeSince == nil ? reason : "\(reason) (\(Self.summary(s, now: clock.now)))"
        for watch in watches { watch.tell(told, .ended) }
        journal.submitState(id, s.lifecycle.state, endReason: reason)
        logger.info("session \(id) ended: \(TerminalText.escape(reason))", metadata: about(id))
        finish(id, with: .ended(reason))
        agent?.end(reason: told)
        if s.openChannels == 0 {
            writeEnded(id)
        } else {
            let timer = Task { [weak self] in
                do { try await Task.sleep(for: Self.channelDrainLimit) } catch { return }
                await self?.writeEnded(id, late: true)
            }
            live[id]?.timers.append(timer)
        }
        return receipt
    }

    /// Writes the held-back `ended` (with the session's byte totals) and retires the session.
    func writeEnded(_ id: SessionID, late: Bool = false) {
        guard let s = live[id], let pending = s.pendingEnd else { return }
        if late {
            logger.warning("session \(id): \(s.openChannels) channel(s) not on record \(Self.channelDrainLimit) after the end; writing 'ended' now",
                           metadata: about(id))
        }
        let stored = record(Ended(reason: pending.reason, bytesToAgent: s.bytesToAgent, bytesFromAgent: s.bytesFromAgent),
                            ticket: s.record.ticketID, session: id, actor: pending.actor)
        retire(id)
        Task { pending.receipt.resolve(await stored.stored()) }
    }

    /// Puts a channel's start on record, if the session is still active: from here its end must
    /// reach the record before the session's `ended` and before the broker stops.
    func openChannel(_ id: SessionID, _ start: some EventPayload, actor: String) -> EventReceipt? {
        guard let s = live[id], s.lifecycle.state == .active, s.pendingEnd == nil else { return nil }
        live[id]?.openChannels += 1
        openChannels += 1
        if start is Exec { live[id]?.commands += 1 }
        if start is ShellStarted { live[id]?.shells += 1 }
        return record(start, ticket: s.record.ticketID, session: id, actor: actor)
    }

    /// A channel's end, with its byte counts and recording: recorded, then the session's `ended`
    /// may follow if it was waiting for this one.
    func closeChannel(_ id: SessionID, ticket: Int, _ closed: ChannelClosed?, actor: String) {
        if let closed {
            BrokerMetrics.relayed(toAgent: closed.bytesToAgent, fromAgent: closed.bytesFromAgent)
            live[id]?.bytesToAgent += closed.bytesToAgent
            live[id]?.bytesFromAgent += closed.bytesFromAgent
            if live[id] == nil { logger.warning("session \(id): a channel ended after the session's 'ended' was written", metadata: about(id, ticket: ticket)) }
            record(closed, ticket: ticket, session: id, actor: actor)
        }
        openChannels = max(0, openChannels - 1)
        if let s = live[id] {
            live[id]?.openChannels = max(0, s.openChannels - 1)
            if s.openChannels <= 1, s.pendingEnd != nil { writeEnded(id) }
        }
        if openChannels == 0 { resumeDrainWaiters() }
    }

    /// Watches a technician channel of session `id`: `tell` hears the reason when the session
    /// ends (at once if it already has). Returns a token for `forgetChannel`.
    func watchChannel(_ id: SessionID, user: String, tell: @escaping @Sendable (_ text: String, _ notice: WatchNotice) -> Void) -> Int? {
        guard live[id]?.lifecycle.state == .active else {
            tell(live[id]?.record.endReason ?? "the session is over", .ended)
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
    public func closeSessionsLeftOpen() async {
        guard let stale = try? await store.openSessions() else { return }
        for s in stale where live[s.id] == nil {
            let state: SessionLifecycle.State = (s.state == .pending || s.state == .offered) ? .expired : .ended
            journal.submitState(s.id, state, endReason: "broker restarted")
            record(Ended(reason: "broker restarted"), ticket: s.ticketID, session: s.id, actor: "broker")
        }
    }

    /// The agent link for a technician who may use `scope` in session `id`, and the session's recording budget.
    /// `.filesAsk` asks for SFTP, which either files scope allows; `.files` (rsync, which cannot
    /// stop for a question at each file) needs the plain `files` scope.
    func attach(_ id: SessionID, user: String, role: Role, scope: Scope) async throws(TandemError) -> Attachment {
        // What the store says is read first: from the live check on, nothing suspends.
        let active = await isActive(user)
        var stored: SessionRecord?
        if live[id] == nil {
            await journal.drain()
            stored = (try? await store.session(id: id)) ?? nil
        }
        guard let s = live[id] else {
            // Over: its owner (or an admin) hears so; anyone else, that there is no such session.
            if let stored, stored.technician == user || role == .admin {
                throw .invalidArgument("session \(id) is not active: it is over (\(stored.endReason ?? stored.state.rawValue)); start a new one with 'tandem session new'")
            }
            throw .notFound("session \(id)")
        }
        guard active else { throw .permissionDenied("your account is disabled") }
        guard role != .auditor else {
            record(PermissionDenied(command: scope == .shell ? "shell/exec" : scope.rawValue, role: role.rawValue, reason: "auditors read, they do not act"),
                   ticket: s.record.ticketID, session: id, actor: user)
            throw .permissionDenied("auditors may read sessions but not act in them")
        }
        guard s.record.technician == user || role == .admin else {
            record(AttachRefused(reason: "not_owner"), ticket: s.record.ticketID, session: id, actor: user)
            // Not "belongs to someone else": that would confirm the session exists.
            throw .notFound("session \(id)")
        }
        let granted = scope == .filesAsk ? s.record.scopes.allowsFiles : s.record.scopes.contains(scope)
        guard granted else {
            record(ChannelRefused(reason: "scope", scope: scope == .filesAsk ? "files" : scope.rawValue), ticket: s.record.ticketID, session: id, actor: user)
            if scope == .files, s.record.scopes.contains(.filesAsk) {
                throw .permissionDenied("the user asked to approve each file in session \(id), and rsync cannot stop to ask; use scp, sftp or 'tandem put|get'")
            }
            throw .permissionDenied(scope != .shell
                ? "the user did not grant file access in session \(id); start a session with --scope shell,files"
                : "the user did not allow '\(scope.rawValue)' in session \(id)")
        }
        if s.lifecycle.state == .active, s.agent == nil, s.agentReturn?.awaySince != nil {
            throw .invalidArgument("the end-user's connection to session \(id) dropped; the session waits up to \(SpokenDuration.of(seconds: config.resumeGrace)) for it to come back: try again in a moment")
        }
        guard s.lifecycle.state == .active, let agent = s.agent else {
            throw .invalidArgument("session \(id) is not active (it is \(s.lifecycle.state.rawValue))")
        }
        if config.onRecordingFailure == .endSession, storageTrouble != nil {
            throw .io("broker storage full: nothing more can be recorded, so nothing more may run; the session is ending")
        }
        live[id]?.nextRelayTag += 1
        return Attachment(agent: agent, ticket: s.record.ticketID, budget: s.budget, activity: s.activity,
                          asksForFiles: s.record.scopes.asksForFiles, fileConsent: s.fileConsent, endUser: s.endUser,
                          tag: s.nextRelayTag)
    }

    /// A live session as it stands now (its row is written through the journal, a moment later).
    public func session(_ id: SessionID) -> SessionRecord? {
        guard let s = live[id] else { return nil }
        var record = s.record
        record.state = s.lifecycle.state
        return record
    }

    /// Sessions not yet over (pending, offered, approved, active).
    public var liveSessionCount: Int { live.count }
}
