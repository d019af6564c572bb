import NIOCore
import TandemCore

/// Tells the byte buffer that the socketpair relay is installed behind it.
struct BridgeReadyEvent: Sendable {}

/// Hands pairing messages to async code; at `startSSH` it steps aside for SSH bytes.
final class AgentInbox: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = AgentMessage

    private let messages: AsyncStream<AgentMessage>.Continuation

    init(messages: AsyncStream<AgentMessage>.Continuation) {
        self.messages = messages
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let message = unwrapInboundIn(data)
        if case .startSSH = message {
            // The frame handler passes the bytes after this frame straight on: park them.
            do {
                try context.pipeline.syncOperations.addHandler(SSHBytesHolder(), position: .before(self))
                context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            } catch {
                context.fireErrorCaught(error)
            }
        }
        messages.yield(message)
        if case .startSSH = message { messages.finish() }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        messages.finish()
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        messages.finish()
        context.fireChannelInactive()
    }
}

/// Keeps SSH bytes that arrive before the socketpair relay exists, then lets them through.
final class SSHBytesHolder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private var pending: [ByteBuffer] = []
    private var ready = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if ready { context.fireChannelRead(data) } else { pending.append(unwrapInboundIn(data)) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if ready { context.fireChannelReadComplete() }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is BridgeReadyEvent else { return context.fireUserInboundEventTriggered(event) }
        ready = true
        for bytes in pending { context.fireChannelRead(NIOAny(bytes)) }
        pending = []
        context.fireChannelReadComplete()
    }
}

@available(*, unavailable)
extension AgentInbox: Sendable {}
@available(*, unavailable)
extension SSHBytesHolder: Sendable {}
