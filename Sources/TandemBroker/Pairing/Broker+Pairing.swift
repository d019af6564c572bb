import Foundation
import TandemAudit
import TandemCore
import TandemText
import TandemStore

// MARK: - Creating sessions and redeeming codes

extension Broker {
    /// Stores a pending session and returns its code; the code itself is never stored.
    public func createSession(technician: String, ticketID: Int, scopes: [Scope], timeLimit: Int?,
                              idleLimit: Int? = nil) async throws(TandemError) -> (SessionID, SessionCode) {
        if stopping { throw .io("the broker is stopping; try again in a moment") }
        if let full = storageRefusal() { throw .io(full) }
        // A session may be stricter than the operator's idle limit, never looser.
        if let idleLimit, idleLimit > config.idleLimit {
            throw .invalidArgument("--idle-limit \(idleLimit) is longer than this broker allows (\(config.idleLimit) s)")
        }
        guard let ticket = (try? await store.ticket(id: ticketID)) ?? nil else {
            throw .notFound("ticket #\(ticketID) (create it with 'tandem ticket new')")
        }
        let id = SessionID.random()
        let code = SessionCode.random()
        let now = clock.now
        let newSession = SessionRecord(
            id: id, ticketID: ticketID, technician: technician, scopes: scopes, codeHash: code.hash(key: identity.codeKey),
            state: .pending, created: now, expires: now.addingTimeInterval(config.codeLifetime),
            timeLimitSeconds: timeLimit ?? config.defaultTimeLimit, endReason: nil)
        do {
            try await store.createSession(newSession)
            // Until an agent on another replica takes it, the session is this replica's.
            if let peering { try await peering.registry.setOwner(of: id.rawValue, to: peering.replicaID) }
        } catch {
            // The detail is the operator's; the technician learns what to do.
            logger.error("could not store session \(id): \(TerminalText.field("\(error)", limit: 500))")
            throw .io("the broker could not store the session; try again, and tell its operator if it goes on")
        }
        // Stopping began while the row was written: it stays pending and is closed at the next start.
        if stopping { throw .io("the broker is stopping; try again in a moment") }
        live[id] = LiveSession(record: newSession, lifecycle: SessionLifecycle(expiresAt: newSession.expires),
                               budget: RecordingBudget(limit: config.maxRecordingBytes), ticketTitle: ticket.title,
                               idleLimit: idleLimit ?? config.idleLimit)
        codeIndex[newSession.codeHash] = id
        record(SessionRequested(scopes: CommaList(scopes.map(\.rawValue)), timeLimit: newSession.timeLimitSeconds,
                                idleLimit: idleLimit ?? config.idleLimit),
               ticket: ticketID, session: id, actor: technician)
        let issued = record(CodeIssued(expires: ISO8601DateFormatter().string(from: newSession.expires)), ticket: ticketID, session: id, actor: "broker")
        let lifetime = config.codeLifetime
        let timer = Task { [weak self] in
            do { try await Task.sleep(for: .seconds(lifetime)) } catch { return }
            await self?.expireIfPending(id)
        }
        live[id]?.timers.append(timer)
        if peering != nil { live[id]?.timers.append(watchForHandover(id)) }
        // The code goes out only once its session is on record (the journal keeps order, so the
        // request before it is too).
        guard await issued.stored() else { throw .io("the broker could not record this session; try again") }
        return (id, code)
    }

    /// Puts on record, one event per source, the refusals that were only counted in blocks
    /// that have now ended (all of them when `all`, as the broker stops).
    public func recordGuessSummaries(all: Bool = false) {
        for s in limiter.takeSummaries(now: clock.now, all: all) {
            let formatter = ISO8601DateFormatter()
            record(JoinRefusalsCounted(reason: JoinRefusal.rateLimited.rawValue, count: s.count,
                                       from: formatter.string(from: s.from), to: formatter.string(from: s.to)),
                   ticket: nil, session: nil, actor: "agent@\(s.source)")
            logger.notice("refused \(s.count) more joins from \(s.source) while it was rate-limited")
        }
    }

    /// The refusal of a source over its guess limit, put on record once per block; nil when it may guess.
    func rateLimited(_ key: String, source: String, now: Date) -> TandemError? {
        refusal(limiter.admit(source: key, now: now), source: source, key: key)
    }

    private func refusal(_ admission: GuessLimiter.Admission, source: String, key: String) -> TandemError? {
        guard case .refused(let wait, let first) = admission else { return nil }
        // One event and one log line per block; the rest are counted (recordGuessSummaries).
        if first {
            record(JoinRefused(reason: .rateLimited, retryAfter: wait), ticket: nil, session: nil, actor: "agent@\(key)")
            logger.warning("joins from \(source) refused for \(wait) s: too many wrong codes")
        }
        BrokerMetrics.guessRefused("rate_limited")
        return .tooManyAttempts(retryAfterSeconds: wait)
    }

    /// Among replicas: takes one guess of the source's allowance that all of them share, waiting
    /// (boundedly) while the source's other guesses are being looked at; the refusal otherwise.
    private func reserveSharedGuess(_ key: String, source: String, _ peering: Peering) async -> Result<Int64, TandemError> {
        let deadline = ContinuousClock.now + Self.sharedGuessWait
        var pause = Self.sharedGuessPoll
        while true {
            let answer: GuessReservation
            do {
                answer = try await peering.registry.reserveGuess(source: key, limits: config.guessLimits)
            } catch {
                // Fail closed: a guess nobody counted is not looked at.
                logger.error("could not count a join's guess in the database: \(TerminalText.field("\(error)", limit: 300))")
                return .failure(.io("the broker could not check this code; try again in a moment"))
            }
            switch answer {
            case .granted(let id):
                return .success(id)
            case .refused(let wait):
                let refused = refusal(limiter.refuse(source: key, now: clock.now, retryAfterSeconds: wait), source: source, key: key)
                return .failure(refused ?? .tooManyAttempts(retryAfterSeconds: wait))
            case .busy:
                // Many agents behind one address bring right codes at once: they take turns.
                guard ContinuousClock.now < deadline else {
                    logger.notice("join from \(source) refused: too many of its codes being checked at once")
                    return .failure(.io("the broker is checking other codes from your network; try again in a moment"))
                }
                do { try await Task.sleep(for: pause) } catch { return .failure(.io("the broker is stopping")) }
                pause = min(pause * 2, Self.sharedGuessPollMost)
                if let refused = rateLimited(key, source: source, now: clock.now) { return .failure(refused) }
            }
        }
    }

    /// How long a join waits for a place among its source's guesses being checked, and how often
    /// it asks (doubling up to the most, so a crowd behind one address does not flood the database).
    static let sharedGuessWait: Duration = .seconds(30)
    static let sharedGuessPoll: Duration = .milliseconds(20)
    static let sharedGuessPollMost: Duration = .milliseconds(320)

    /// Waits until fewer of the source's guesses than its limit are being checked from here: the
    /// rest wait in memory for one to finish, not in the database.
    private func takeLocalPlace(_ key: String, source: String) async -> TandemError? {
        let deadline = ContinuousClock.now + Self.sharedGuessWait
        while lookupsInFlight[key, default: 0] >= config.guessLimits.perSource {
            guard ContinuousClock.now < deadline else {
                logger.notice("join from \(source) refused: too many of its codes being checked at once")
                return .io("the broker is checking other codes from your network; try again in a moment")
            }
            await withCheckedContinuation { lookupWaiters[key, default: []].append($0) }
            if let refused = rateLimited(key, source: source, now: clock.now) { return refused }
        }
        lookupsInFlight[key, default: 0] += 1
        return nil
    }

    private func releaseLocalPlace(_ key: String) {
        let left = lookupsInFlight[key, default: 1] - 1
        lookupsInFlight[key] = left > 0 ? left : nil
        // One waiter at a time: each takes the place that was given back.
        if var waiting = lookupWaiters[key], !waiting.isEmpty {
            let next = waiting.removeFirst()
            lookupWaiters[key] = waiting.isEmpty ? nil : waiting
            next.resume()
        }
    }

    func expireIfPending(_ id: SessionID) async {
        guard var s = live[id], s.lifecycle.expireIfDue(now: clock.now) else { return }
        if let peering {
            // An agent on another replica may have taken it a moment ago: the database decides.
            let mine: Bool
            do {
                mine = try await peering.registry.expireIfStillMine(session: id.rawValue, replica: peering.replicaID)
            } catch {
                // Not known: look again in a moment rather than expire a session another replica may hold.
                live[id]?.timers.append(Task { [weak self] in
                    do { try await Task.sleep(for: .seconds(1)) } catch { return }
                    await self?.expireIfPending(id)
                })
                return
            }
            guard mine else { return handOver(id) }
            guard var again = live[id], again.lifecycle.expireIfDue(now: clock.now) else { return }
            swap(&s, &again)
        }
        live[id] = s
        journal.submitState(id, .expired)
        record(CodeExpired(), ticket: s.record.ticketID, session: id, actor: "broker")
        finish(id, with: .expired)
        retire(id)
    }

    /// An agent presented a code: answer with the offer or a rejection the user can act on.
    public func redeem(code text: String, source: String, agentUser: String, agentHost: String) async -> Result<Offer, TandemError> {
        let now = clock.now
        // Counted by network, not by address: one IPv6 subscriber has a whole /64 to guess from.
        let key = GuessLimiter.sourceKey(source)
        if let refused = rateLimited(key, source: source, now: now) { return .failure(refused) }
        guard let peering else { return await redeem(code: text, key: key, source: source, agentUser: agentUser, agentHost: agentHost, now: now) }
        let hash = (try? SessionCode.parse(text))?.hash(key: identity.codeKey)
        if let hash, codeIndex[hash] != nil {
            // A code live here needs no lookup: only whether the source is refused on any replica.
            // No place is taken, so many users behind one address do not queue for each other.
            do {
                if let wait = try await peering.registry.guessBlock(source: key, limits: config.guessLimits) {
                    return .failure(refusal(limiter.refuse(source: key, now: clock.now, retryAfterSeconds: wait), source: source, key: key)
                                    ?? .tooManyAttempts(retryAfterSeconds: wait))
                }
            } catch {
                logger.error("could not check a join's source in the database: \(TerminalText.field("\(error)", limit: 300))")
                return .failure(.io("the broker could not check this code; try again in a moment"))
            }
            return await redeem(code: text, key: key, source: source, agentUser: agentUser, agentHost: agentHost, now: clock.now)
        }
        // Among replicas the allowance is shared: the guess takes its place in the database's count
        // first, so guesses spread over replicas, or arriving while a lookup waits, cannot slip past.
        if let refused = await takeLocalPlace(key, source: source) { return .failure(refused) }
        let reservation: Int64
        switch await reserveSharedGuess(key, source: source, peering) {
        case .success(let id): reservation = id
        case .failure(let refused):
            releaseLocalPlace(key)
            return .failure(refused)
        }
        let result = await redeem(code: text, key: key, source: source, agentUser: agentUser, agentHost: agentHost, now: clock.now)
        defer { releaseLocalPlace(key) }
        // Kept as a wrong guess only when the code was unknown (the one failure counted as a guess);
        // a right or spent code gives its place back.
        var wrong = false
        if case .failure(.codeUnknown) = result { wrong = true }
        do {
            try await peering.registry.settleGuess(reservation, wrong: wrong)
        } catch {
            logger.error("could not settle a join's guess in the database (an unsettled one soon stops holding a place): \(TerminalText.field("\(error)", limit: 300))")
        }
        return result
    }

    /// The join once its guess is admitted (and, among replicas, has its place in the shared count).
    private func redeem(code text: String, key: String, source: String, agentUser: String, agentHost: String, now: Date) async -> Result<Offer, TandemError> {
        // Answered from memory, with no suspension between the limiter's admission and the failure
        // it counts: concurrent guesses cannot slip past the limit while a lookup waits.
        let hash = (try? SessionCode.parse(text))?.hash(key: identity.codeKey)
        var found = hash.flatMap { codeIndex[$0] }
        var counted = false
        var adopted = false
        if found == nil, let hash, retiredCodes[hash] == nil, let peering {
            // Another replica's code, perhaps. The guess already holds a place in the shared count.
            found = await adopt(codeHash: hash, peering: peering)
            adopted = found != nil
            // Not counted when it is a real code that is spent: the retired branch below says why.
            if found == nil, retiredCodes[hash] == nil {
                limiter.recordFailure(source: key, now: clock.now)
                counted = true
            }
        }
        guard hash != nil, let id = found, var s = live[id] else {
            if let hash, let over = retiredCodes[hash] {
                // A real code of a session that is over: say why, and it is no wrong guess.
                let error: TandemError = over.state == .expired ? .codeExpired : .codeUsed
                record(JoinRefused(reason: error == .codeExpired ? .expiredCode : .usedCode),
                       ticket: over.ticketID, session: over.id, actor: "\(agentUser)@\(agentHost)")
                logger.notice("join from \(source) refused: \(error == .codeExpired ? "expired" : "already used") code")
                return .failure(error)
            }
            if !counted { limiter.recordFailure(source: key, now: now) }
            BrokerMetrics.guessRefused("unknown_code")
            record(JoinRefused(reason: .unknownCode), ticket: nil, session: nil, actor: "agent@\(source)")
            logger.notice("join from \(source) refused: unknown code", metadata: ["source": .string(source)])
            return .failure(.codeUnknown)
        }
        let before = s.lifecycle
        let action = s.lifecycle.redeem(now: now)
        live[id] = s
        let actor = "\(agentUser)@\(agentHost)"
        switch action {
        case .sendOffer:
            if let peering, !adopted {
                // Among replicas the code may be on its way to another one right now: the database
                // decides which replica's agent gets the offer.
                do {
                    guard try await peering.registry.offerIfStillMine(session: id.rawValue, replica: peering.replicaID) else {
                        handOver(id)
                        record(JoinRefused(reason: .usedCode), ticket: s.record.ticketID, session: id, actor: actor)
                        logger.notice("join from \(source) refused: the code was used on another replica")
                        return .failure(.codeUsed)
                    }
                } catch {
                    if live[id] != nil { live[id]?.lifecycle = before }
                    logger.error("could not check a code with the database: \(TerminalText.field("\(error)", limit: 300))")
                    return .failure(.io("the broker could not check this code; try again in a moment"))
                }
            }
            live[id]?.endUser = actor
            journal.submitState(s.record.id, .offered)
            record(JoinAccepted(source: source), ticket: s.record.ticketID, session: s.record.id, actor: actor)
            let offer = Offer(
                sessionID: s.record.id.rawValue, technician: s.record.technician, ticketID: s.record.ticketID,
                ticketTitle: s.ticketTitle, scopes: s.record.scopes, timeLimitSeconds: s.record.timeLimitSeconds,
                brokerPublicKey: identity.publicKeyLine, brokerFingerprint: identity.fingerprint,
                resumeGraceSeconds: config.resumeGrace)
            let offered = record(Offered(scopes: CommaList(s.record.scopes.map(\.rawValue))), ticket: s.record.ticketID, session: s.record.id, actor: "broker")
            // The user sees the offer only once it is on record.
            guard await offered.stored() else { return .failure(.io("the broker could not record this session; ask your technician to try again")) }
            return .success(offer)
        case .reject(let error):
            if error == .codeExpired {
                journal.submitState(s.record.id, .expired)
                finish(s.record.id, with: .expired)
                retire(s.record.id)
            }
            record(JoinRefused(reason: error == .codeExpired ? .expiredCode : .usedCode), ticket: s.record.ticketID, session: s.record.id, actor: actor)
            logger.notice("join from \(source) refused: \(error == .codeExpired ? "expired" : "already used") code")
            return .failure(error)
        default:
            return .failure(.protocolViolation("unexpected pairing state"))
        }
    }
}
