import Foundation
import Logging
import Synchronization
import TandemAudit
import TandemCore
import TandemHelpdesk
import TandemStore

/// The broker's shared state: live sessions, their agents, and the pairing rules.
///
/// Every connection handler talks to this one actor; it writes every decision
/// to the store before answering, so what a caller is told is already recorded.
public actor Broker {
    public nonisolated let config: BrokerConfig
    public nonisolated let identity: BrokerIdentity
    public nonisolated let store: any BrokerStore
    /// The hash chains and checkpoints, above the store.
    public nonisolated let auditLog: AuditLog
    /// The one ordered path of every event to the store.
    public nonisolated let journal: EventJournal
    /// The helpdesks tickets are linked to and their records sent to (through the outbox).
    public nonisolated let helpdesks: Helpdesks
    /// Running shells that auditors and admins may watch, read-only.
    public nonisolated let liveFeeds = LiveFeeds()
    /// This broker as one of several on one database (`peer-listen`); nil for a broker alone.
    public nonisolated let peering: Peering?
    let clock: any WallClock
    let logger: Logger
    var limiter: GuessLimiter
    var live: [SessionID: LiveSession] = [:]
    /// Events appended per chain since its last signed checkpoint.
    var unsigned: [Int: Int] = [:]
    /// Why the broker's storage is full, while it is: new sessions are refused.
    var storageTrouble: String?
    var watchCounter = 0
    var participantCounter = 0
    /// Technician channels whose end is not yet on record (`stop` waits for them).
    var openChannels = 0
    /// How long an ended session waits for its channels' ends before `ended` is written anyway.
    static let channelDrainLimit: Duration = .seconds(10)
    var drainWaiters: [(token: UUID, continuation: CheckedContinuation<Void, Never>)] = []
    /// Set by `stop`: no new session starts.
    var stopping = false
    /// Per chain, when its oldest event not yet covered by a checkpoint was stored (`tandem_checkpoint_age_seconds`).
    var unsignedSince: [Int: Date] = [:]
    /// Lost replicas' recordings waiting to be finished here (cancelled when this broker stops).
    var recoveries: [Task<Void, Never>] = []
    /// Joins from each source whose code is being looked up from here, and joins waiting for one
    /// to finish (among replicas: the rest wait here, not in the database).
    var lookupsInFlight: [String: Int] = [:]
    var lookupWaiters: [String: [CheckedContinuation<Void, Never>]] = [:]
    /// Live sessions by their code's keyed hash: a join is answered from memory.
    var codeIndex: [String: SessionID] = [:]
    /// Codes of sessions that are over (the newest `retiredCodesKept`), so typing one again says
    /// why instead of counting as a wrong guess.
    var retiredCodes: [String: RetiredCode] = [:]
    var retiredOrder: [String] = []
    static let retiredCodesKept = 4096
    /// Refusals of each caller's requests put on record in the current minute (`recordRefusal`).
    var refusalsThisMinute: [String: (minute: Int, count: Int)] = [:]
    static let refusalsRecordedPerMinute = 30
    static let refusalWindowsKept = 4096

    struct RetiredCode {
        var id: SessionID
        var ticketID: Int
        var state: SessionLifecycle.State
    }

    struct LiveSession {
        var record: SessionRecord
        var lifecycle: SessionLifecycle
        /// Technicians waiting for the outcome; answered nil when another replica took the session.
        var waiters: [CheckedContinuation<PairingOutcome?, Never>] = []
        var outcome: PairingOutcome?
        var agent: AgentLink?
        var bytesToAgent = 0
        var bytesFromAgent = 0
        /// Shared by every recording of the session (`max-recording-bytes`).
        var budget: RecordingBudget
        /// Shown in the end-user's offer (read once, when the session is requested).
        var ticketTitle: String
        /// The code-expiry and time-limit timers, cancelled when the session is over.
        var timers: [Task<Void, Never>] = []
        /// The technician channels attached to the session: told why when it ends, and closed
        /// alone when their user is disabled (an admin on another technician's session).
        var watches: [Int: ChannelWatch] = [:]
        /// Channels whose start is on record and whose end is not yet.
        var openChannels = 0
        /// Set when the session is over but a channel's end is still coming: `ended` waits for it.
        var pendingEnd: PendingEnd?
        /// Seconds without input or output after which the session ends.
        var idleLimit: Int
        /// When bytes last crossed the relay, touched from the event loops; files moved.
        let activity = SessionActivity()
        /// When it became active, and what was started in it: for the summary at its end.
        var activeSince: Date?
        var commands = 0
        var shells = 0
        /// Who answered the offer on the user's machine (`user@host`): the actor of their answers.
        var endUser = "end-user"
        /// The user's "all" to file questions (`files:ask`).
        let fileConsent = FileConsentMemory()
        /// The newest running shell, which others may join.
        var shell: ShellPort?
        /// People who joined, by their token.
        var participants: [Int: Participant] = [:]
        /// Join questions the user has not answered yet.
        var joinQuestions = 0
        /// How the agent may come back after its connection drops (set at its consent).
        var agentReturn: AgentReturn?
        /// Relays waiting for the agent to come back, by their tag.
        var suspendedRelays: [Int: RelayResumer] = [:]
        var nextRelayTag = 0
        /// Shells whose technician's connection dropped, by the SHA-256 of their resume secret.
        var parkedShells: [[UInt8]: ParkedShell] = [:]
    }

    /// What a technician channel needs from the session it attaches to.
    struct Attachment: Sendable {
        var agent: AgentLink
        var ticket: Int
        var budget: RecordingBudget
        var activity: SessionActivity
        /// Each file operation waits for the user's answer (`files:ask`, until they say "all").
        var asksForFiles: Bool
        var fileConsent: FileConsentMemory
        var endUser: String
        /// The relay's name on the agent's side, for taking it up again after a drop.
        var tag: Int
    }

    /// An `ended` event held back until the session's last channel is on record.
    struct PendingEnd {
        var reason: String
        var actor: String
        /// Answered when `ended` is stored.
        var receipt: EventReceipt
    }

    /// What a technician channel is told about its session.
    enum WatchNotice: Sendable {
        /// The session ended for this reason.
        case ended
        /// This channel alone is closed, for this reason.
        case closed
        /// Something is about to happen (the idle limit); the channel goes on.
        case warning
    }

    /// One technician channel attached to a live session.
    struct ChannelWatch {
        var user: String
        /// Shows the text on the channel, as `notice` says.
        var tell: @Sendable (_ text: String, _ notice: WatchNotice) -> Void
    }


    public init(config: BrokerConfig, identity: BrokerIdentity, store: any BrokerStore, helpdesks: Helpdesks = .none,
                peering: Peering? = nil, clock: any WallClock = SystemWallClock(), logger: Logger) {
        self.config = config
        self.peering = peering
        self.helpdesks = helpdesks
        self.identity = identity
        self.store = store
        self.clock = clock
        self.logger = logger
        self.limiter = GuessLimiter(limits: config.guessLimits)
        let sink = JournalSink()
        let auditLog = AuditLog(store: store, routes: OutboxRoutes(helpdesks: Set(helpdesks.noteSinks.keys.map(\.rawValue)),
                                                                   webhooks: helpdesks.webhooks.map(\.name)))
        self.auditLog = auditLog
        self.journal = EventJournal(log: auditLog, onAppended: { await sink.broker?.noteAppended($0) },
                                    onFailed: { event, error in await sink.broker?.eventFailed(event, error) })
        sink.broker = self
    }

    /// Queues one event in the journal; its place in the log is fixed now. Await the receipt's
    /// `stored()` before telling anyone it happened.
    @discardableResult
    func record(_ payload: some EventPayload, ticket: Int?, session: SessionID?, actor: String) -> EventReceipt {
        journal.submit(payload, time: clock.now, ticket: ticket, session: session, actor: actor)
    }

    /// Records an event for a connection handler and waits until it is stored; false when it
    /// could not be (the session it belongs to then ends: nothing may run unrecorded).
    @discardableResult
    public func recordEvent(_ payload: some EventPayload, session: SessionID?, ticket: Int? = nil, actor: String) async -> Bool {
        var ticket = ticket ?? session.flatMap { live[$0]?.record.ticketID }
        if ticket == nil, let session { ticket = (try? await store.session(id: session))??.ticketID }
        return await record(payload, ticket: ticket, session: session, actor: actor).stored()
    }

    func finish(_ id: SessionID, with outcome: PairingOutcome) {
        guard var s = live[id] else { return }
        // A pairing is counted once, by how it first turned out (an approved session that later ends stays approved).
        if s.outcome == nil {
            switch outcome {
            case .approved: BrokerMetrics.pairing("approved")
            case .refused: BrokerMetrics.pairing("refused")
            case .expired: BrokerMetrics.pairing("expired")
            case .ended: BrokerMetrics.pairing("ended_before_approval")
            }
        }
        s.outcome = outcome
        let waiters = s.waiters
        s.waiters = []
        live[id] = s
        for w in waiters { w.resume(returning: outcome) }
    }

    /// Waits until the session is approved, refused, expired or ended.
    public func waitForOutcome(_ id: SessionID) async -> PairingOutcome {
        guard let s = live[id] else {
            // Over: its row's last state may still be in the journal.
            await journal.drain()
            let record = (try? await store.session(id: id)) ?? nil
            if let record, await heldElsewhere(record) { return await followRemote(id) }
            return Self.outcome(of: record)
        }
        if let outcome = s.outcome { return outcome }
        let here: PairingOutcome? = await withCheckedContinuation { c in live[id]?.waiters.append(c) }
        if let here { return here }
        // The agent took the session to another replica: its outcome is read from the database.
        return await followRemote(id)
    }

    /// A session that is over leaves the live registry; its timers stop. What it was stays in the store.
    func retire(_ id: SessionID) {
        guard let s = live.removeValue(forKey: id) else { return }
        for timer in s.timers { timer.cancel() }
        codeIndex[s.record.codeHash] = nil
        rememberRetired(s.record.codeHash, RetiredCode(id: id, ticketID: s.record.ticketID, state: s.lifecycle.state))
        for waiter in s.waiters { waiter.resume(returning: s.outcome ?? .expired) }
    }

    /// Keeps a spent code (the newest `retiredCodesKept`), so typing it again says why.
    func rememberRetired(_ codeHash: String, _ code: RetiredCode) {
        if retiredCodes.updateValue(code, forKey: codeHash) == nil { retiredOrder.append(codeHash) }
        if retiredOrder.count > Self.retiredCodesKept { retiredCodes[retiredOrder.removeFirst()] = nil }
    }

    /// A session's id and ticket, attached to its log lines (fields of their own in `log-format = json`).
    func about(_ id: SessionID, ticket: Int? = nil) -> Logger.Metadata {
        var m: Logger.Metadata = ["session": .string(id.rawValue)]
        if let t = ticket ?? live[id]?.record.ticketID { m["ticket"] = .stringConvertible(t) }
        return m
    }

    /// Reports how many live sessions are in each state (a gauge per state).
    func noteLiveSessions() {
        var counts: [String: Int] = [:]
        for s in live.values { counts[s.lifecycle.state.rawValue, default: 0] += 1 }
        BrokerMetrics.liveSessions(counts)
    }

    /// How a session no longer live turned out, from its stored state.
    static func outcome(of record: SessionRecord?) -> PairingOutcome {
        switch record?.state {
        case .refused: return .refused
        case .ended: return .ended(record?.endReason ?? "ended")
        case .active, .approved: return .approved
        default: return .expired
        }
    }
}

/// Lets the journal, made in the broker's initialiser, call back the broker it belongs to.
private final class JournalSink: Sendable {
    private struct Weak { weak var broker: Broker? }
    private let ref = Mutex(Weak())

    var broker: Broker? {
        get { ref.withLock { $0.broker } }
        set { ref.withLock { $0.broker = newValue } }
    }
}
