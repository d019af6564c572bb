import Foundation
import NIOCore
import NIOSSH
import TandemAudit
import TandemCore
import TandemStore
import TandemText

/// The running shell of a session that others may join: the channel of the technician who owns
/// it (a pair's typing goes through it, so it is counted, kept and recorded like theirs), and the
/// feed watchers read.
struct ShellPort: Sendable {
    let owner: RelayAnchor
    let recorder: AsciicastRecorder?
    let feed: LiveFeed
    let activity: SessionActivity
}

/// A person in the session besides its technician and the end-user.
struct Participant {
    var user: String
    var role: Role
    var pair: Bool
    var via: String
    var mode: String { pair ? "pair" : "observe" }
    /// In the user's words, for notices.
    var doing: String { pair ? "typing" : "watching" }
}

/// What a person who joined holds: the shell, their place in the feed, their token for `leave`.
struct JoinedShell: Sendable {
    let port: ShellPort
    let watch: LiveFeed.Watch
    let token: Int
    let ticket: Int
    /// The user was asked and said yes (not only told, as for an auditor under `live-watch = tell`).
    let asked: Bool
}

// MARK: - Joining a running shell

extension Broker {
    /// The session's newest shell may be joined from now on.
    func shellOpened(_ id: SessionID, _ port: ShellPort) {
        live[id]?.shell = port
    }

    func shellClosed(_ id: SessionID, feed: LiveFeed) {
        if live[id]?.shell?.feed === feed { live[id]?.shell = nil }
    }

    /// Lets `user` watch (or with `pair`, also type in) the running shell of session `id` once the
    /// end-user agrees (auditors and admins per `live-watch`). The answer and the join are on
    /// record before anything is shown. `told` hears progress for the person joining.
    func join(_ id: SessionID, user: String, role: Role, pair: Bool, via: String = "cli",
              told: @escaping @Sendable (String) -> Void) async throws(TandemError) -> JoinedShell {
        let active = await isActive(user)
        guard let s = live[id] else { throw .notFound("session \(id)") }
        guard active else { throw .permissionDenied("your account is disabled") }
        let mode = pair ? "pair" : "observe"
        if role == .auditor, pair {
            record(PermissionDenied(command: "join --pair", role: role.rawValue, reason: "auditors read, they do not act"),
                   ticket: s.record.ticketID, session: id, actor: user)
            throw .permissionDenied("auditors may watch a session (tandem join --observe) but not type in it")
        }
        // Auditors and admins watching are the broker's policy (`live-watch`); a technician, or
        // anyone who would type, is the end-user's to allow.
        let byPolicy = !pair && role != .technician
        if byPolicy, config.liveWatch == .off {
            record(ParticipantRefused(mode: mode, answer: "policy"), ticket: s.record.ticketID, session: id, actor: user)
            throw .permissionDenied("this broker does not let sessions be watched live (live-watch = off)")
        }
        guard s.record.technician != user else {
            throw .invalidArgument("session \(id) is yours: use 'tandem shell \(id)'")
        }
        guard s.lifecycle.state == .active, let agent = s.agent else {
            throw .invalidArgument("session \(id) is not active (it is \(s.lifecycle.state.rawValue))")
        }
        guard pair ? s.record.scopes.contains(.shell) : true, let port = s.shell, !port.feed.isFinished else {
            throw .notFound("a running shell in session \(id) to join; \(s.record.technician) must have one open ('tandem shell \(id)')")
        }
        guard let watch = port.feed.watch() else {
            throw .invalidArgument("session \(id) already has \(LiveFeed.maxWatchers) people watching; try again when one leaves")
        }
        let asks = !byPolicy || config.liveWatch == .ask
        let person = Participant(user: user, role: role, pair: pair, via: via)
        if asks {
            // One person asked about at a time: a burst of joins cannot bury the user in questions.
            guard (live[id]?.joinQuestions ?? 0) == 0 else {
                watch.cancel()
                throw .invalidArgument("the user is being asked about someone else joining session \(id); try again in a minute")
            }
            live[id]?.joinQuestions += 1
            told("asking the end-user to let you \(pair ? "join and type in" : "watch") session \(id); waiting for their answer (at most \(Int(AgentLink.answerLimit.nanoseconds / 1_000_000_000)) s)")
            tellWatches(id, "\(user) asks to join this session (\(person.doing)); the user is asked")
            let question = ConsentQuestion(kind: .join, who: user, role: role == .technician ? nil : role.rawValue, mode: mode)
            let answer = await ask(agent, question)
            live[id]?.joinQuestions -= 1
            guard answer.allows else {
                watch.cancel()
                let refused = record(ParticipantRefused(mode: mode, answer: answer.recorded), ticket: s.record.ticketID, session: id, actor: user)
                _ = await refused.stored()
                tellWatches(id, "the user did not let \(user) join (\(answer.recorded))")
                logger.notice("session \(id): the user did not let \(TerminalText.field(user, limit: 64)) join (\(answer.recorded))", metadata: about(id))
                throw .permissionDenied(answer == .noAnswer ? "the user did not answer in time; nothing is shared" : "the user refused; nothing is shared")
            }
        }
        // The user may have ended it while they were asked.
        guard live[id]?.lifecycle.state == .active else {
            watch.cancel()
            throw .invalidArgument("session \(id) ended meanwhile")
        }
        let joined = record(ParticipantJoined(mode: mode, consent: asks ? "asked" : "told", via: via), ticket: s.record.ticketID, session: id, actor: user)
        guard await joined.stored() else {
            watch.cancel()
            throw .io("the broker could not record your joining, so it was not allowed")
        }
        participantCounter += 1
        let token = participantCounter
        live[id]?.participants[token] = person
        peopleChanged(id, "\(user)\(role == .technician ? "" : " (\(role.rawValue))") joined this session, \(person.doing)")
        return JoinedShell(port: port, watch: watch, token: token, ticket: s.record.ticketID, asked: asks)
    }

    /// The person who joined left, or the shell they joined closed.
    func leave(_ id: SessionID, token: Int) {
        guard let person = live[id]?.participants.removeValue(forKey: token), let s = live[id] else { return }
        record(ParticipantLeft(mode: person.mode), ticket: s.record.ticketID, session: id, actor: person.user)
        peopleChanged(id, "\(person.user) left this session")
    }

    /// Everyone in the session hears who is there now: the user's screen, and the technicians' channels.
    func peopleChanged(_ id: SessionID, _ notice: String) {
        guard let s = live[id] else { return }
        tellWatches(id, notice)
        guard let agent = s.agent else { return }
        agent.notice(notice)
        agent.people(people(of: s))
    }

    func people(of s: LiveSession) -> SessionPeople {
        var list = [SessionPeople.Person(who: s.record.technician, role: "technician", mode: "technician")]
        for (_, p) in s.participants.sorted(by: { $0.key < $1.key }) {
            list.append(SessionPeople.Person(who: p.user, role: p.role.rawValue, mode: p.mode))
        }
        return SessionPeople(people: list)
    }

    /// Tells every technician channel of the session, without closing any.
    func tellWatches(_ id: SessionID, _ text: String) {
        for watch in live[id]?.watches.values ?? [:].values { watch.tell(text, .warning) }
    }

    private nonisolated func ask(_ agent: AgentLink, _ question: ConsentQuestion) async -> ConsentAnswer {
        (try? await agent.ask(question).get()) ?? .noAnswer
    }
}

// MARK: - Telling the agent who is there

extension AgentLink {
    /// Sends the agent the people in the session now (its status line shows them).
    public func people(_ list: SessionPeople) {
        _ = openSessionChannel { child in
            child.eventLoop.makeCompletedFuture {
                try child.pipeline.syncOperations.addHandler(NoticeWriter(bytes: list.encoded(), subsystem: SessionPeople.subsystem))
            }
        }
    }
}
