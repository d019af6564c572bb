import NIOCore

/// Holds what the broker sends before the tunnel's bridge to libssh exists, then lets it through.
///
/// The broker speaks first (its SSH banner) as soon as TLS is up; the CLI links the
/// socketpair for libssh only after `connect` returns. Bytes read in between would
/// reach the end of the pipeline and be dropped, and libssh would then fail on the
/// next packet ("too large banner"). `TLSTunnel.bridge` sends `TLSTunnel.Bridged`.
public final class EarlyBytesHolder: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer

    private var held: [ByteBuffer] = []
    private var inputClosed = false
    private var inactive = false

    public init() {}

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        held.append(unwrapInboundIn(data))
    }

    public func channelReadComplete(context: ChannelHandlerContext) {}

    public func channelInactive(context: ChannelHandlerContext) {
        inactive = true
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is TLSTunnel.Bridged:
            for bytes in held { context.fireChannelRead(wrapInboundOut(bytes)) }
            held.removeAll()
            context.fireChannelReadComplete()
            if inputClosed { context.fireUserInboundEventTriggered(ChannelEvent.inputClosed) }
            if inactive { context.fireChannelInactive() }
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        case ChannelEvent.inputClosed:
            inputClosed = true
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }
}

@available(*, unavailable)
extension EarlyBytesHolder: Sendable {}
