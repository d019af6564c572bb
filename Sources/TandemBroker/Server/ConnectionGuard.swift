import Logging
import NIOCore
import NIOSSH
import NIOSSL

/// Fired by a protocol handler once the peer has proven it speaks our protocol.
public struct PeerEstablishedEvent: Sendable {}

/// Sits at the end of every connection: drops peers that stall before they
/// establish themselves, and logs then closes on any error, so one hostile
/// connection never reaches the accept loop or another session.
final class ConnectionGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let timeout: TimeAmount
    private let logger: Logger
    private var deadline: Scheduled<Void>?

    init(timeout: TimeAmount, logger: Logger) {
        self.timeout = timeout
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let logger = self.logger
        deadline = context.eventLoop.scheduleTask(in: timeout) {
            // Read now: a load balancer's PROXY header, if any, has named the client since.
            logger.warning("dropped connection from \(loopBound.value.channel.peerText): nothing useful received in time (silent or too slow)")
            BrokerMetrics.handshakeFailed("timeout")
            loopBound.value.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is PeerEstablishedEvent || event is UserAuthSuccessEvent { markEstablished() }
        context.fireUserInboundEventTriggered(event)
    }

    /// The peer proved itself (logged in, or sent a valid join): no deadline any more.
    func markEstablished() {
        deadline?.cancel()
        deadline = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Nothing should reach here; ignoring keeps stray data from piling up.
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.warning("dropped connection from \(context.channel.peerText): \(Self.describe(error))")
        // Counted while the connection has not yet said who it is, once.
        if deadline != nil {
            BrokerMetrics.handshakeFailed(error is NIOSSLError ? "tls" : "protocol")
            deadline?.cancel()
            deadline = nil
        }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        logger.debug("connection from \(context.channel.peerText) closed")
        context.fireChannelInactive()
    }

    static func describe(_ error: Error) -> String {
        switch error {
        case let e as NIOSSLError: return "TLS failure (\(e))"
        case let e as NIOSSHError: return "SSH protocol error (\(e.type))"
        default: return String(describing: error)
        }
    }
}

@available(*, unavailable)
extension ConnectionGuard: Sendable {}
