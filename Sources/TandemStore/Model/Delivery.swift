import Foundation

/// Which sinks a ticket's events and checkpoints are owed to, as the broker is configured.
public struct OutboxRoutes: Sendable, Equatable {
    /// Helpdesk systems with a configured sink (`rt`, `redmine`): a ticket linked to one gets its record there.
    public var helpdesks: Set<String>
    /// Webhook sinks: every ticket's record goes to each.
    public var webhooks: [String]

    public init(helpdesks: Set<String> = [], webhooks: [String] = []) {
        self.helpdesks = helpdesks
        self.webhooks = webhooks
    }

    public static let none = OutboxRoutes()

    public var isEmpty: Bool { helpdesks.isEmpty && webhooks.isEmpty }

    /// The sinks owed a record of `chain`, whose ticket is linked to `external` (or to nothing).
    public func sinks(external: String?) -> [String] {
        var sinks = webhooks
        if let system = external.flatMap(Self.system), helpdesks.contains(system) { sinks.append(system) }
        return sinks
    }

    /// `rt` of `rt:1042`.
    public static func system(of external: String) -> String? {
        guard let colon = external.firstIndex(of: ":") else { return nil }
        return String(external[..<colon])
    }
}

/// Where one delivery stands.
public enum DeliveryState: String, Codable, Sendable, CaseIterable {
    /// Waiting for its turn (or for its next try).
    case pending
    /// Handed to the sink under an idempotency key, and not yet known to have arrived: before it
    /// is sent again (after a failure, or a crash), the sink is asked whether it holds that key.
    case sending
    case delivered
    /// The sink refused it for good (a 4xx other than 429); `tandem ticket resync` tries again.
    case failed
}

/// One row of the outbox: an event or a checkpoint owed to one sink, written with the event.
public struct Delivery: Sendable, Equatable {
    public var id: Int64
    public var sink: String
    public var chain: Int
    public var eventID: Int64?
    public var checkpointID: Int64?
    public var state: DeliveryState
    public var attempts: Int
    /// Not tried again before this time (microseconds since 1970).
    public var nextMicros: Int64
    /// The idempotency key of the post that carries it, set before the post leaves.
    public var batch: String?
    public var lastError: String?
    public var createdMicros: Int64
    public var doneMicros: Int64?

    public init(id: Int64, sink: String, chain: Int, eventID: Int64?, checkpointID: Int64?, state: DeliveryState, attempts: Int,
                nextMicros: Int64, batch: String?, lastError: String?, createdMicros: Int64, doneMicros: Int64?) {
        self.id = id
        self.sink = sink
        self.chain = chain
        self.eventID = eventID
        self.checkpointID = checkpointID
        self.state = state
        self.attempts = attempts
        self.nextMicros = nextMicros
        self.batch = batch
        self.lastError = lastError
        self.createdMicros = createdMicros
        self.doneMicros = doneMicros
    }
}

/// What a worker learnt about some deliveries.
public enum DeliveryChange: Sendable, Equatable {
    /// About to post them under this idempotency key.
    case sending(batch: String)
    case delivered(atMicros: Int64)
    /// A temporary failure (network, 429, 5xx): try again at `nextMicros` (rows already under a
    /// key stay `sending` under it: the helpdesk may hold that post).
    case retry(nextMicros: Int64, error: String)
    case failed(atMicros: Int64, error: String)
}
