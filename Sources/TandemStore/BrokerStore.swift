import Foundation
import TandemAudit
import TandemCore

/// Everything the broker keeps, whatever the engine: the services and `AuditLog` use only this.
///
/// Every call is async and never runs on an event loop: SQLite's calls run on NIO's thread pool,
/// PostgreSQL's are network round trips. A write returns once it is durable (SQLite WAL with
/// synchronous=FULL, or a PostgreSQL commit), so a caller may acknowledge it.
public protocol BrokerStore: Sendable {
    // Tickets
    func createTicket(title: String, requester: String, createdBy: String?, external: String?, now: Date) async throws(StoreError) -> Ticket
    /// The ticket that stands for a helpdesk ticket (`rt:1042`).
    func ticket(external: String) async throws(StoreError) -> Ticket?
    func tickets() async throws(StoreError) -> [Ticket]
    func tickets(visibleTo user: String) async throws(StoreError) -> [Ticket]
    func ticket(id: Int) async throws(StoreError) -> Ticket?
    func assign(ticket: Int, to user: String, by: String, now: Date) async throws(StoreError)
    func assignees(ticket: Int) async throws(StoreError) -> [String]

    // People
    func addUser(name: String, role: Role, publicKey: String, now: Date) async throws(StoreError)
    func users() async throws(StoreError) -> [User]
    func user(named name: String) async throws(StoreError) -> User?
    func setStatus(of name: String, to status: UserStatus) async throws(StoreError)
    func addKey(_ line: String, to name: String, now: Date) async throws(StoreError)
    func removeKey(_ line: String, from name: String) async throws(StoreError) -> Bool
    func inactiveUsers() async throws(StoreError) -> [String: UserStatus]

    // API tokens
    func addToken(_ t: TokenRecord) async throws(StoreError)
    func token(secretHash: String) async throws(StoreError) -> TokenRecord?
    func token(id: String) async throws(StoreError) -> TokenRecord?
    /// Every token, or one person's.
    func tokens(owner: String?) async throws(StoreError) -> [TokenRecord]
    /// Marks a live token revoked; false when it was unknown or already revoked.
    func revokeToken(id: String, at: Date) async throws(StoreError) -> Bool

    // Sessions
    func createSession(_ s: SessionRecord) async throws(StoreError)
    func session(id: SessionID) async throws(StoreError) -> SessionRecord?
    func session(codeHash: String) async throws(StoreError) -> SessionRecord?
    func updateSession(_ id: SessionID, state: SessionLifecycle.State, endReason: String?) async throws(StoreError)
    func openSessions() async throws(StoreError) -> [SessionRecord]

    // The audit chains: one atomic primitive to append, and reads. Linking lives in `AuditLog`.
    /// The newest event of each chain asked for, and the next free event id.
    func chainTips(_ chains: Set<Int>) async throws(StoreError) -> ChainTips
    /// Stores linked events if every chain's head is still the one they were linked after and no
    /// event id is taken; all of them or none, each with its outbox rows (`batch.routes`).
    func append(_ batch: LinkedBatch) async throws(StoreError) -> AppendOutcome
    func events(ticketID: Int) async throws(StoreError) -> [AuditEvent]
    func events(sessionID: String) async throws(StoreError) -> [AuditEvent]
    func allEvents() async throws(StoreError) -> [AuditEvent]
    func head(chain: Int) async throws(StoreError) -> AuditEvent?

    // Checkpoints
    /// Stores a checkpoint and, in the same transaction, its outbox rows.
    func addCheckpoint(_ c: Checkpoint, routes: OutboxRoutes) async throws(StoreError)
    func checkpoints(chain: Int?) async throws(StoreError) -> [Checkpoint]
    func unsignedChains() async throws(StoreError) -> [Int]

    // The outbox
    /// The open rows (pending and sending) for `sink` of each ticket whose oldest open row's next try
    /// is due: at most `groups` tickets, oldest first, and at most `perGroup` rows of each, in order.
    func dueDeliveries(sink: String, nowMicros: Int64, groups: Int, perGroup: Int) async throws(StoreError) -> [Delivery]
    /// Every delivery of one chain, oldest first (`tandem ticket sync-status`).
    func deliveries(chain: Int) async throws(StoreError) -> [Delivery]
    func change(deliveries ids: [Int64], to change: DeliveryChange) async throws(StoreError)
    /// Puts a chain's failed deliveries back in line; how many.
    func retryFailed(chain: Int, nowMicros: Int64) async throws(StoreError) -> Int
    /// How many deliveries are in each state, per sink (metrics).
    func deliveryCounts() async throws(StoreError) -> [String: [DeliveryState: Int]]
    func events(ids: [Int64]) async throws(StoreError) -> [AuditEvent]
    func checkpoint(id: Int64) async throws(StoreError) -> Checkpoint?

    // Health
    /// Throws `.damaged` when the engine reports damage (SQLite's quick or full check); PostgreSQL answers a query.
    func checkIntegrity(full: Bool) async throws(StoreError)
    /// Which engine and where, without secrets (`postgres://tandem@127.0.0.1:5432/tandem`, a file path).
    var location: String { get }
    func close() async
}

extension BrokerStore {
    public func createTicket(title: String, requester: String, now: Date) async throws(StoreError) -> Ticket {
        try await createTicket(title: title, requester: requester, createdBy: nil, external: nil, now: now)
    }

    public func createTicket(title: String, requester: String, createdBy: String?, now: Date) async throws(StoreError) -> Ticket {
        try await createTicket(title: title, requester: requester, createdBy: createdBy, external: nil, now: now)
    }

    public func addCheckpoint(_ c: Checkpoint) async throws(StoreError) {
        try await addCheckpoint(c, routes: .none)
    }

    public func updateSession(_ id: SessionID, state: SessionLifecycle.State) async throws(StoreError) {
        try await updateSession(id, state: state, endReason: nil)
    }

    public func checkpoints() async throws(StoreError) -> [Checkpoint] {
        try await checkpoints(chain: nil)
    }
}

/// A chain's newest event, as the next one must link to it.
public struct ChainHead: Sendable, Equatable {
    public var seq: Int64
    public var hash: String

    public init(seq: Int64, hash: String) {
        self.seq = seq
        self.hash = hash
    }

    /// The head of a chain with no events yet.
    public static let empty = ChainHead(seq: 0, hash: AuditEvent.genesis)
}

/// Chain heads and the next event id, read together.
public struct ChainTips: Sendable, Equatable {
    public var heads: [Int: ChainHead]
    public var nextID: Int64

    public init(heads: [Int: ChainHead], nextID: Int64) {
        self.heads = heads
        self.nextID = nextID
    }
}

/// Events already linked (ids, sequence numbers, hashes), with the heads they were linked after.
public struct LinkedBatch: Sendable {
    public var events: [AuditEvent]
    /// For each chain in the batch, the head its first event links to.
    public var after: [Int: ChainHead]
    public var firstID: Int64
    /// The sinks owed each event, written with it.
    public var routes: OutboxRoutes
    /// When another writer moved a head, link the events again inside the store's transaction
    /// instead of answering `.moved`: with several brokers on one database, a retry would find
    /// the chain moved again by the time it came back.
    public var relinkIfMoved: Bool

    public init(events: [AuditEvent], after: [Int: ChainHead], firstID: Int64, routes: OutboxRoutes = .none, relinkIfMoved: Bool = false) {
        self.events = events
        self.after = after
        self.firstID = firstID
        self.routes = routes
        self.relinkIfMoved = relinkIfMoved
    }
}

/// Whether a batch was stored, or another writer appended first and the batch must be linked again.
public enum AppendOutcome: Sendable, Equatable {
    case appended
    /// Stored, linked after the heads the store found (`relinkIfMoved`): these are the events as stored.
    case relinked([AuditEvent])
    case moved
}
