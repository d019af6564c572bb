import Logging
import NIOCore
import TandemCore
import TandemText

/// The broker's side of `tandem proxy`: reads the `ProxyPreamble` before SSH, and answers a client
/// that leaves without logging in with a `ProxyNotice` saying why.
///
/// Sits between TLS and the SSH handler. A connection that starts with `SSH-` (the `tandem` CLI)
/// passes untouched from its first byte.
final class ProxyLineHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State {
        case reading(ByteBuffer)
        case passing
        case dropped
    }

    private var state = State.reading(ByteBuffer())
    private let identity: ConnectionIdentity
    private let logger: Logger

    init(identity: ConnectionIdentity, logger: Logger) {
        self.identity = identity
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch state {
        case .passing:
            context.fireChannelRead(data)
        case .dropped:
            break
        case .reading(var held):
            var incoming = unwrapInboundIn(data)
            held.writeBuffer(&incoming)
            let start: ProxyPreamble.Start
            do {
                start = try ProxyPreamble.classify(held.readableBytesView)
            } catch {
                state = .dropped
                logger.notice("dropped connection from \(identity.peer) (technician port): \(TerminalText.escape(error.description))")
                context.close(promise: nil)
                return
            }
            switch start {
            case .undecided:
                state = .reading(held)
            case .ssh:
                state = .passing
                context.fireChannelRead(wrapInboundOut(held))
            case .preamble(let preamble, let length):
                identity.target = preamble.session
                identity.proxyNonce = preamble.nonce
                held.moveReaderIndex(forwardBy: length)
                state = .passing
                // The proxy half-closes when its ssh is gone and then waits for the notice.
                context.channel.setOption(ChannelOptions.allowRemoteHalfClosure, value: true).whenComplete { _ in }
                if held.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(held)) }
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if case .passing = state { context.fireChannelReadComplete() }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard case ChannelEvent.inputClosed = event, let nonce = identity.proxyNonce else {
            return context.fireUserInboundEventTriggered(event)
        }
        // SSH has no half-close: the client is done. If it never logged in, the proxy hears why.
        let channel = context.channel
        guard let text = identity.loginNotice else { return channel.close(promise: nil) }
        let bytes = context.channel.allocator.buffer(bytes: ProxyNotice.encode(text, nonce: nonce))
        context.writeAndFlush(wrapOutboundOut(bytes)).whenComplete { _ in channel.close(promise: nil) }
    }
}

@available(*, unavailable)
extension ProxyLineHandler: Sendable {}
