import Foundation
import TandemAudit
import TandemCore
import TandemStore
import TandemText

// MARK: - Sessions moving between replicas (several brokers on one database)

extension Broker {
    /// A pending session another replica made, whose code an agent brought here: taken over in one
    /// compare-and-set (of two replicas racing for it, one wins) and made live here; nil if it is
    /// nobody's pending session.
    func adopt(codeHash: String, peering: Peering) async -> SessionID? {
        let taken: SessionRecord?
        do {
            taken = try await peering.registry.takeOver(codeHash: codeHash, replica: peering.replicaID, now: clock.now)
        } catch {
            logger.error("could not look for another replica's session: \(TerminalText.field("\(error)", limit: 300))")
            return nil
        }
        guard var record = taken else {
            // A real code another replica's agent used first (or that expired): no wrong guess, and
            // the agent is told why, as the replica that made it would tell it.
            if let spent = (try? await store.session(codeHash: codeHash)) ?? nil {
                rememberRetired(codeHash, RetiredCode(id: spent.id, ticketID: spent.ticketID, state: spent.state == .expired ? .expired : .offered))
            }
            return nil
        }
        let id = record.id
        // Its own limits travel with it: what the technician asked for is on its record.
        let requested = ((try? await store.events(sessionID: id.rawValue)) ?? []).first { $0.kind == "session_requested" }
        let idleLimit = requested?.data["idle_limit"].flatMap(Int.init).map { min($0, config.idleLimit) } ?? config.idleLimit
        let title = ((try? await store.ticket(id: record.ticketID)) ?? nil)?.title ?? ""
        guard live[id] == nil else { return id }
        // Offered in the database already; here it goes through the same steps as a local one.
        record.state = .pending
        live[id] = LiveSession(record: record, lifecycle: SessionLifecycle(expiresAt: record.expires),
                               budget: RecordingBudget(limit: config.maxRecordingBytes), ticketTitle: title, idleLimit: idleLimit)
        codeIndex[codeHash] = id
        logger.info("took over session \(id) from another replica: its agent is here", metadata: about(id, ticket: record.ticketID))
        return id
    }

    /// Polls, while the session is pending here, whether an agent took it to another replica.
    func watchForHandover(_ id: SessionID) -> Task<Void, Never> {
        Task { [weak self] in
            while !Task.isCancelled {
                do { try await Task.sleep(for: Self.handoverPoll) } catch { return }
                guard let self, await self.stillPendingHere(id) else { return }
                if let owner = try? await self.peering?.registry.owner(of: id.rawValue), owner != self.peering?.replicaID {
                    await self.handOver(id)
                    return
                }
            }
        }
    }

    static let handoverPoll: Duration = .milliseconds(200)

    private func stillPendingHere(_ id: SessionID) -> Bool {
        live[id]?.lifecycle.state == .pending
    }

    /// Another replica owns the session now: forget it here without writing anything (its owner
    /// records it), and let the technicians waiting here follow it in the database.
    func handOver(_ id: SessionID) {
        guard let s = live.removeValue(forKey: id) else { return }
        for timer in s.timers { timer.cancel() }
        codeIndex[s.record.codeHash] = nil
        rememberRetired(s.record.codeHash, RetiredCode(id: id, ticketID: s.record.ticketID, state: .offered))
        logger.info("session \(id) went to another replica with its agent", metadata: about(id, ticket: s.record.ticketID))
        for waiter in s.waiters { waiter.resume(returning: nil) }
    }

    /// Ends a session another replica holds, through the database: its owner takes the ask at its
    /// next heartbeat and ends it as if asked there. Answered with the reason on record once the
    /// session is over (it may have ended otherwise meanwhile).
    func endElsewhere(_ record: SessionRecord, reason: String, actor: String) async throws -> String {
        guard let peering else { throw TandemError.io("session \(record.id) is not on this broker") }
        do {
            try await peering.registry.askToEnd(session: record.id.rawValue, reason: reason, actor: actor)
        } catch {
            logger.error("could not ask for session \(record.id)'s end: \(TerminalText.field("\(error)", limit: 300))")
            throw TandemError.io("the broker could not reach its database to end session \(record.id); try again in a moment")
        }
        logger.info("asked the replica holding session \(record.id) to end it", metadata: about(record.id, ticket: record.ticketID))
        let deadline = ContinuousClock.now + Self.endElsewhereWait
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: Self.handoverPoll)
            if let now = try? await store.session(id: record.id), ![.pending, .offered, .approved, .active].contains(now.state) {
                return now.endReason ?? now.state.rawValue
            }
        }
        throw TandemError.io("session \(record.id) is held by another broker replica, which has not ended it yet; look again with 'tandem session show \(record.id)'")
    }

    static let endElsewhereWait: Duration = .seconds(15)

    /// Ends the sessions held here that a request on another replica asked to end.
    public func serveEndRequests() async {
        guard let peering else { return }
        let asks: [EndRequest]
        do {
            asks = try await peering.registry.takeEndRequests(for: peering.replicaID)
        } catch {
            logger.warning("could not read the asks to end sessions: \(TerminalText.field("\(error)", limit: 300))")
            return
        }
        for ask in asks {
            guard let id = try? SessionID.parse(ask.session), live[id] != nil else {
                logger.warning("an ask to end session \(TerminalText.field(ask.session, limit: 64)) came here, where it is not live")
                continue
            }
            logger.notice("session \(id): ended as asked on another replica by \(TerminalText.field(ask.actor, limit: 100))", metadata: about(id))
            // Not waited for: the heartbeat that called this must not wait on the journal.
            _ = end(id, reason: ask.reason, actor: ask.actor)
        }
    }

    /// Whether a session not live here is still open on another replica.
    func heldElsewhere(_ record: SessionRecord) async -> Bool {
        guard let peering, [.pending, .offered, .approved, .active].contains(record.state) else { return false }
        guard let owner = try? await peering.registry.owner(of: record.id.rawValue) else { return false }
        return owner != peering.replicaID
    }

    /// How a session held by another replica turns out, read from the database until it is
    /// decided, for as long as a code and an answer may take.
    func followRemote(_ id: SessionID) async -> PairingOutcome {
        let deadline = clock.now.addingTimeInterval(config.codeLifetime + config.consentTimeout + 60)
        while clock.now < deadline, !Task.isCancelled {
            if let record = (try? await store.session(id: id)) ?? nil {
                switch record.state {
                case .active: return .approved
                case .refused: return .refused
                case .expired: return .expired
                case .ended: return .ended(record.endReason ?? "ended")
                case .pending, .offered, .approved: break
                }
            }
            try? await Task.sleep(for: Self.handoverPoll)
        }
        return .ended("no answer from the broker replica that holds the session")
    }
}

// MARK: - Replicas that stop answering

extension Broker {
    /// The reason a session gets when the replica holding it is lost.
    static let replicaLost = "broker replica lost"

    /// Declares lost the replicas whose heartbeat is older than the timeout, and ends their open
    /// sessions in their stead, as events on each ticket's chain.
    public func sweepLostReplicas() async {
        guard let peering else { return }
        let lost: [String]
        do {
            lost = try await peering.registry.declareLost(olderThan: peering.settings.timeout, except: peering.replicaID)
        } catch {
            logger.warning("could not look for lost replicas: \(TerminalText.field("\(error)", limit: 300))")
            return
        }
        for replica in lost {
            logger.warning("replica \(replica) sent no heartbeat for \(peering.settings.timeout) s: declared lost; ending its sessions")
            let ended: [SessionRecord]
            do {
                ended = try await peering.registry.endSessions(of: replica, by: peering.replicaID, reason: Self.replicaLost)
            } catch {
                logger.error("could not end the sessions of lost replica \(replica): \(TerminalText.field("\(error)", limit: 300))")
                continue
            }
            for session in ended {
                record(Ended(reason: Self.replicaLost), ticket: session.ticketID, session: session.id, actor: "broker")
                logger.notice("session \(session.id) ended: \(Self.replicaLost) (\(replica))", metadata: about(session.id, ticket: session.ticketID))
            }
            // Its unfinished recordings, once it has surely stopped writing: a replica that cannot
            // beat for the timeout stops itself, so another timeout leaves its files still.
            let quiet = peering.settings.timeout
            let later = Task { [weak self] in
                do { try await Task.sleep(for: .seconds(quiet)) } catch { return }
                await self?.finishRecordings(of: replica, quiet: quiet)
            }
            recoveries.append(later)
        }
        await endLeftovers(peering)
    }

    /// Finishes a lost replica's unfinished recordings in its stead, when they are in a folder this
    /// replica reaches (a shared recordings folder) and no live replica writes there.
    func finishRecordings(of replica: String, quiet: Double) async {
        guard let peering else { return }
        let folder: String?
        do {
            folder = try await peering.registry.orphanedPartsFolder(of: replica)
        } catch {
            logger.warning("could not look up where replica \(replica) kept its recordings: \(TerminalText.field("\(error)", limit: 300))")
            return
        }
        guard let folder, folder != config.partsDirectory else { return }
        let into = URL(fileURLWithPath: folder).deletingLastPathComponent().path
        let since = Date().addingTimeInterval(-quiet)
        // Off the actor: the folder may be on a network share that answers slowly.
        let found = await Task.detached { () -> (finished: [UnfinishedRecording], failures: [(file: String, reason: String)])? in
            guard FileManager.default.fileExists(atPath: folder) else { return nil }
            return UnfinishedRecording.finishAll(in: folder, into: into, quietSince: since)
        }.value
        guard let (finished, failures) = found else {
            logger.info("replica \(replica)'s unfinished recordings are not in a folder this replica reaches; its own host finishes them when it starts again")
            return
        }
        for failure in failures {
            logger.error("cannot finish replica \(replica)'s recording \(failure.file): \(TerminalText.field(failure.reason, limit: 300)); it is left in place")
        }
        await recordRecovered(finished, reason: "the broker replica that wrote it was lost")
    }

    /// Sessions still open under a replica that stopped or was lost (one made while it stopped,
    /// or written after it was declared lost): ended in its stead, with its reason.
    private func endLeftovers(_ peering: Peering) async {
        guard let ended = try? await peering.registry.endLeftovers(by: peering.replicaID) else { return }
        for session in ended {
            let reason = session.endReason ?? Self.replicaLost
            record(Ended(reason: reason), ticket: session.ticketID, session: session.id, actor: "broker")
            logger.notice("session \(session.id) ended: \(reason) (left open by a replica that is gone)",
                          metadata: about(session.id, ticket: session.ticketID))
        }
    }
}
