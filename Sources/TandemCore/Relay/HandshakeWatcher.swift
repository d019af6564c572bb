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

    /// The handshake of `channel` (which holds a watcher), failed with `handshakeTimedOut` and the
    /// channel closed if it takes longer than `limit`: a peer that accepts TCP and then says
    /// nothing must not hold anyone for ever. Call on the channel's event loop.
    static func completion(of channel: Channel, within limit: TimeAmount) throws -> EventLoopFuture<Void> {
        let done = try channel.pipeline.syncOperations.handler(type: HandshakeWatcher.self).done
        let deadline = channel.eventLoop.scheduleTask(in: limit) {
            channel.pipeline.fireErrorCaught(ConnectFailure.Cause.handshakeTimedOut)
            channel.close(promise: nil)
        }
        done.whenComplete { _ in deadline.cancel() }
        return done
    }

    private func settle(_ error: Error?) {
        guard !settled else { return }
        settled = true
        if let error { promise.fail(error) } else { promise.succeed(()) }
    }
}

@available(*, unavailable)
extension HandshakeWatcher: Sendable {}
