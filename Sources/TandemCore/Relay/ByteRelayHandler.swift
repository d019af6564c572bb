import NIOCore

/// Copies bytes from its channel to a partner channel, with back-pressure both ways.
///
/// The partner may live on another event loop: `Channel` calls hop for us, and
/// autoRead is switched off on our side while the partner cannot take more.
public final class ByteRelayHandler: ChannelDuplexHandler {
    public typealias InboundIn = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private var partner: Channel?

    init(partner: Channel) { self.partner = partner }

    /// Links two channels both ways; call once both exist.
    public static func link(_ a: Channel, _ b: Channel) -> EventLoopFuture<Void> {
        let left = a.eventLoop.submit { try a.pipeline.syncOperations.addHandler(ByteRelayHandler(partner: b)) }
        let right = b.eventLoop.submit { try b.pipeline.syncOperations.addHandler(ByteRelayHandler(partner: a)) }
        return left.and(right).map { _ in }
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partner?.write(unwrapInboundIn(data), promise: nil)
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        partner?.flush()
    }

    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        // Our side is full: stop reading from the partner until it drains.
        partner?.setAutoRead(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            partner?.close(mode: .output, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        partner?.close(promise: nil)
        partner = nil
        context.fireChannelInactive()
    }

    public func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension ByteRelayHandler: Sendable {}
