import Foundation
import Logging
import TandemCore
import TandemStore

/// The broker's shared state: live sessions, their agents, and the pairing rules.
///
/// Every connection handler talks to this one actor; it writes every decision
/// to the store before answering, so what a caller is told is already recorded.
public actor Broker {
    public nonisolated let config: BrokerConfig
    public nonisolated let identity: BrokerIdentity
    public nonisolated let store: Store
    let clock: any WallClock
    let logger: Logger
    var limiter: GuessLimiter
    var live: [SessionID: LiveSession] = [:]
    /// Events appended per chain since its last signed checkpoint.
    var unsigned: [Int: Int] = [:]
    /// Why the broker's storage is full, while it is: new sessions are refused.
    var storageTrouble: String?
    var watchCounter = 0
    /// Technician channels whose end is not yet on record (`stop` waits for them).
    var openChannels = 0
    var drainWaiters: [(token: UUID, continuation: CheckedContinuation<Void, Never>)] = []
    /// Set by `stop`: no new session starts.
    var stopping = false

    struct LiveSession {
        var record: SessionRecord
        var lifecycle: SessionLifecycle
        var waiters: [CheckedContinuation<PairingOutcome, Never>] = []
        var outcome: PairingOutcome?
        var agent: AgentLink?
        var bytesToAgent = 0
        var bytesFromAgent = 0
        /// Shared by every recording of the session (`max-recording-bytes`).
        var budget: RecordingBudget
        /// The code-expiry and time-limit timers, cancelled when the session is over.
        var timers: [Task<Void, Never>] = []
        /// The technician channels attached to the session: told why when it ends, and closed
        /// alone when their user is disabled (an admin on another technician's session).
        var watches: [Int: ChannelWatch] = [:]
    }

    /// One technician channel attached to a live session.
    struct ChannelWatch {
        var user: String
        /// Shows the reason on the channel; `close` also closes it.
        var tell: @Sendable (_ reason: String, _ close: Bool) -> Void
    }


    public init(config: BrokerConfig, identity: BrokerIdentity, store: Store, clock: any WallClock = SystemWallClock(), logger: Logger) {
        self.config = config
        self.identity = identity
        self.store = store
        self.clock = clock
        self.logger = logger
        self.limiter = GuessLimiter(limits: config.guessLimits)
    }

    /// Writes one event to its ticket's chain; false when it could not be stored, which is
    /// logged loudly and ends the session it belongs to (nothing may run unrecorded).
    @discardableResult
    func record(_ kind: String, ticket: Int?, session: SessionID?, actor: String, _ data: [String: String] = [:]) -> Bool {
        let event = Event(time: clock.now, ticketID: ticket, sessionID: session?.rawValue, actor: actor, kind: kind, data: data)
        do {
            let linked = try store.append(event)
            noteAppended(linked)
            return true
        } catch {
            logger.critical("could not record event \(kind) for session \(session?.rawValue ?? "-"): \(error)")
            eventFailed(error, session: session)
            return false
        }
    }

    /// Records an event on behalf of a connection handler; false when it could not be stored.
    @discardableResult
    public func recordEvent(_ kind: String, session: SessionID?, ticket: Int? = nil, actor: String, _ data: [String: String] = [:]) -> Bool {
        let ticket = ticket ?? session.flatMap { id in live[id]?.record.ticketID ?? (try? store.session(id: id))??.ticketID }
        return record(kind, ticket: ticket, session: session, actor: actor, data)
    }

    func finish(_ id: SessionID, with outcome: PairingOutcome) {
        guard var s = live[id] else { return }
        s.outcome = outcome
        let waiters = s.waiters
        s.waiters = []
        live[id] = s
        for w in waiters { w.resume(returning: outcome) }
    }

    /// Waits until the session is approved, refused, expired or ended.
    public func waitForOutcome(_ id: SessionID) async -> PairingOutcome {
        guard let s = live[id] else { return Self.outcome(of: (try? store.session(id: id)) ?? nil) }
        if let outcome = s.outcome { return outcome }
        return await withCheckedContinuation { c in live[id]?.waiters.append(c) }
    }

    /// A session that is over leaves the live registry; its timers stop. What it was stays in the store.
    func retire(_ id: SessionID) {
        guard let s = live.removeValue(forKey: id) else { return }
        for timer in s.timers { timer.cancel() }
        for waiter in s.waiters { waiter.resume(returning: s.outcome ?? .expired) }
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
