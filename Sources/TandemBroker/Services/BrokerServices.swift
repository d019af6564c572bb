import TandemCore
import TandemStore

/// The broker's rules, one service per concern; the SSH control channel and the HTTP API are
/// thin adapters over these and get the same answers.
public struct BrokerServices: Sendable {
    public let broker: Broker

    public init(broker: Broker) {
        self.broker = broker
    }

    public var tickets: TicketService { TicketService(broker: broker) }
    public var sessions: SessionService { SessionService(broker: broker) }
    public var audit: AuditService { AuditService(broker: broker) }
    public var tokens: TokenService { TokenService(broker: broker) }
    public var users: UserService { UserService(broker: broker) }
    public var console: ConsoleService { ConsoleService(broker: broker) }

    /// The caller, once their account is known to be still active: the operator may have
    /// disabled them since their connection logged in or their token was made.
    public func caller(_ user: User, via: Caller.Credential) async throws(TandemError) -> Caller {
        guard await broker.isActive(user.name) else { throw .permissionDenied("your account is disabled") }
        return Caller(user: user, via: via)
    }
}

extension BrokerServices {
    /// The broker's metrics are the operator's: an admin's token may read them on the TLS port.
    public func authorizeMetrics(_ caller: Caller) async throws {
        try await Policy(broker: broker, caller: caller).requireRole([.admin], "read the broker's metrics", operation: "metrics")
    }
}
