import Foundation

/// Several brokers on one PostgreSQL database: who runs, where peers reach them, and which one
/// owns each session (the one holding its agent). SQLite is one broker and has none of this.
public protocol ReplicaRegistry: GuessLedger {
    /// From now on, session state writes through this store change only sessions `replica` owns.
    func serve(as replica: String)
    /// Puts this replica on the list as live, reachable by peers at `peerAddress` (HOST:PORT), its
    /// unfinished recordings in `partsFolder`.
    func registerReplica(id: String, peerAddress: String, partsFolder: String?) async throws(StoreError)
    /// Where a replica that is gone left its unfinished recordings, if no live replica writes there now.
    func orphanedPartsFolder(of replica: String) async throws(StoreError) -> String?
    /// Takes this replica off the list of live ones (a clean stop).
    func retireReplica(id: String, state: String) async throws(StoreError)
    /// A live replica's peer address; nil when it is unknown, stopped or lost.
    func liveReplicaAddress(id: String) async throws(StoreError) -> String?
    /// Marks `replica` as the session's owner.
    func setOwner(of session: String, to replica: String) async throws(StoreError)
    /// The replica that owns the session, if one does.
    func owner(of session: String) async throws(StoreError) -> String?
    /// Takes a pending session whose code an agent brought here: one compare-and-set, so of two
    /// replicas racing for it one wins; nil when it is not pending (or expired) any more.
    func takeOver(codeHash: String, replica: String, now: Date) async throws(StoreError) -> SessionRecord?
    /// This replica is alive, on the database's clock; false when the others declared it lost.
    func heartbeat(id: String) async throws(StoreError) -> Bool
    /// Declares lost every other live replica whose heartbeat is older than `seconds`: the ids
    /// returned are this caller's to clean up (a replica is declared lost once, by one survivor).
    func declareLost(olderThan seconds: Double, except me: String) async throws(StoreError) -> [String]
    /// Ends the open sessions a lost replica owned, in its stead: they become `me`'s, ended.
    func endSessions(of lost: String, by me: String, reason: String) async throws(StoreError) -> [SessionRecord]
    /// Whether this replica runs `job` now: one replica at a time does, holding a lock on a
    /// connection of its own; when it stops (or dies), the next to ask takes the job over.
    func lead(_ job: ReplicaJob) async -> Bool
    /// Marks a pending session this replica still owns as offered; false when another took it first.
    func offerIfStillMine(session: String, replica: String) async throws(StoreError) -> Bool
    /// Ends the open sessions of replicas that stopped or were lost and still own some (a session
    /// made while its replica stopped); they become `me`'s, ended.
    func endLeftovers(by me: String) async throws(StoreError) -> [SessionRecord]
    /// Expires a pending session this replica still owns; false when another took it first.
    func expireIfStillMine(session: String, replica: String) async throws(StoreError) -> Bool
    /// Asks the replica that owns an open session to end it (a request it cannot reach itself, as
    /// the HTTP API's and the console's are); the first ask of a session stands.
    func askToEnd(session: String, reason: String, actor: String) async throws(StoreError)
    /// Takes the asks to end sessions `replica` owns, and drops the asks of sessions already over.
    func takeEndRequests(for replica: String) async throws(StoreError) -> [EndRequest]
}

/// An ask, made on one replica, that the replica owning a session end it.
public struct EndRequest: Equatable, Sendable {
    public var session: String
    public var reason: String
    public var actor: String

    public init(session: String, reason: String, actor: String) {
        self.session = session
        self.reason = reason
        self.actor = actor
    }
}

/// Work that one replica does for all: posting the outbox, signing checkpoints on a timer.
public enum ReplicaJob: Int32, Sendable {
    case outbox = -2
    case checkpoints = -3
}
