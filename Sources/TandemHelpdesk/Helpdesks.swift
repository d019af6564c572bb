import TandemAPI

/// The helpdesks this broker is configured for: the ticket systems that take notes, the
/// webhooks, and which system a bare ticket number means.
public struct Helpdesks: Sendable {
    public var noteSinks: [HelpdeskSystem: any NoteSink]
    public var webhooks: [WebhookSink]
    /// `helpdesk-default`: a bare `--ticket 1042` means this system's ticket; nil: the broker's own.
    public var defaultSystem: HelpdeskSystem?
    /// Seconds between two posts to one ticket: a busy session's events wait and go together.
    public var batchInterval: Double
    /// The first retry's delay and the longest, in seconds (doubling, with jitter).
    public var retryBase: Double
    public var retryMax: Double

    public init(noteSinks: [HelpdeskSystem: any NoteSink] = [:], webhooks: [WebhookSink] = [], defaultSystem: HelpdeskSystem? = nil,
                batchInterval: Double = 5, retryBase: Double = 1, retryMax: Double = 300) {
        self.noteSinks = noteSinks
        self.webhooks = webhooks
        self.defaultSystem = defaultSystem
        self.batchInterval = batchInterval
        self.retryBase = retryBase
        self.retryMax = retryMax
    }

    public static let none = Helpdesks()

    public var isEmpty: Bool { noteSinks.isEmpty && webhooks.isEmpty }

    /// What a reference names once the default system is applied.
    public func resolve(_ reference: TicketReference) -> TicketReference {
        if case .number(let n) = reference, let defaultSystem { return .external(defaultSystem, n) }
        return reference
    }
}
