import Logging
import NIOCore
import NIOSSH
import TandemCore
import TandemStore
import TandemText

/// The owner's side of a forwarded channel: nothing passes until the channel has said what it
/// carries. A technician's channel must name an active user with the key they logged in with, and
/// is then served as a technician's own (`TechnicianChannelHandler`); a returning agent's
/// connection gets the agent's pipeline, which checks its way back as if it had come here.
final class PeerChannelGate: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = SSHChannelData

    private enum State { case waiting, checking, open }
    private var state = State.waiting
    private let identity: ConnectionIdentity
    private let broker: Broker
    private var store: any BrokerStore { broker.store }
    /// The replica at the other end, for log lines.
    private let peer: String
    private let logger: Logger

    init(identity: ConnectionIdentity, broker: Broker, peer: String, logger: Logger) {
        self.identity = identity
        self.broker = broker
        self.peer = peer
        self.logger = logger
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch (state, event) {
        case (.open, _):
            context.fireUserInboundEventTriggered(event)
        case (.waiting, let request as SSHChannelRequestEvent.EnvironmentRequest) where request.name == OnBehalf.variable:
            state = .checking
            let behalf: OnBehalf
            do {
                behalf = try OnBehalf.decode(request.value)
            } catch {
                return refuse("\(error)", context: context)
            }
            check(behalf, context: context)
        case (.waiting, let request as SSHChannelRequestEvent.EnvironmentRequest) where request.name == AgentForward.variable:
            let forward: AgentForward
            do {
                forward = try AgentForward.decode(request.value)
            } catch {
                return refuse("\(error)", context: context)
            }
            takeAgent(forward, context: context)
        case (.checking, _), (.waiting, _):
            refuse("a request before the channel said whom it acts for", context: context)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .open = state else { return refuse("data before the channel said whom it acts for", context: context) }
        context.fireChannelRead(data)
    }

    /// The person must still be active and still hold the key they logged in with on the other replica.
    private func check(_ behalf: OnBehalf, context: ChannelHandlerContext) {
        let store = self.store
        context.eventLoop.makeFutureWithTask { try await store.user(named: behalf.user) }
            .assumeIsolated().whenComplete { result in
                guard case .success(let found) = result, let user = found else {
                    return self.refuse("no user \(TerminalText.field(behalf.user, limit: 64)) here", context: context)
                }
                guard user.status == .active else {
                    return self.refuse("user \(TerminalText.field(user.name, limit: 64)) is \(user.status.rawValue)", context: context)
                }
                if let key = behalf.key,
                   !user.publicKeys.contains(where: { BrokerIdentity.fingerprint(ofOpenSSHLine: $0) == key }) {
                    return self.refuse("user \(TerminalText.field(user.name, limit: 64)) no longer has the key they logged in with", context: context)
                }
                self.identity.user = user
                self.identity.loginName = user.name
                self.identity.loginKey = behalf.key
                // Printed later as a socket address would be: escaped here, once.
                self.identity.peer = "\(TerminalText.field(behalf.from, limit: 200)) via replica \(TerminalText.field(behalf.via, limit: 64))"
                self.identity.target = behalf.target.map(SessionID.init(rawValue:))
                do {
                    try context.pipeline.syncOperations.addHandler(
                        TechnicianChannelHandler(broker: self.broker, identity: self.identity, logger: self.logger), position: .after(self))
                } catch {
                    return self.refuse("\(error)", context: context)
                }
                self.state = .open
                context.triggerUserOutboundEvent(ChannelSuccessEvent(), promise: nil)
                context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            }
    }

    /// A returning agent another replica reached: its bytes go to the agent's pipeline, which
    /// answers its resume as it would a direct connection's.
    private func takeAgent(_ forward: AgentForward, context: ChannelHandlerContext) {
        let health = LinkHealth()
        do {
            let sync = context.pipeline.syncOperations
            try sync.addHandler(ForwardedAgentLink(health: health), position: .after(self))
            let link = try sync.handler(type: ForwardedAgentLink.self)
            try BrokerServer.addAgentPipeline(to: sync, after: link, broker: broker, health: health, source: forward.from, logger: logger)
            // As a direct connection's guard does: an error ends the connection.
            try sync.addHandler(CloseOnError(), position: .last)
        } catch {
            return refuse("\(error)", context: context)
        }
        logger.info("replica \(TerminalText.field(forward.via, limit: 64)) passes on a returning agent from \(TerminalText.field(forward.from, limit: 200)) for session \(TerminalText.field(forward.session, limit: 64))")
        state = .open
        context.triggerUserOutboundEvent(ChannelSuccessEvent(), promise: nil)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    private func refuse(_ why: String, context: ChannelHandlerContext) {
        logger.warning("refused a forwarded channel from replica \(peer): \(TerminalText.field(why, limit: 300))")
        context.triggerUserOutboundEvent(ChannelFailureEvent(), promise: nil)
        context.close(promise: nil)
    }
}
