import NIOCore
import NIOSSL
import NIOTLS

/// Completes when the TLS handshake has, or fails with what stopped it.
final class HandshakeWatcher: ChannelInboundHandler {
    typealias InboundIn = NIOAny

    private let promise: EventLoopPromise<Void>
    private var settled = false
    var done: EventLoopFuture<Void> { promise.futureResult }

    init(promise: EventLoopPromise<Void>) { self.promise = promise }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event { settle(nil) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        settle(error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        settle(ConnectFailure.Cause.closedDuringHandshake)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        settle(ConnectFailure.Cause.closedDuringHandshake)
    }

    private func settle(_ error: Error?) {
        guard !settled else { return }
        settled = true
        if let error { promise.fail(error) } else { promise.succeed(()) }
    }
}

@available(*, unavailable)
extension HandshakeWatcher: Sendable {}
