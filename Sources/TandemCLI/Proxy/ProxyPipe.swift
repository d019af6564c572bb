import Foundation
import NIOCore
import NIOPosix
import TandemCore
import TandemText

/// `tandem proxy`'s work: a TLS connection to the broker (technician ALPN, the broker's certificate
/// checked as the CLI checks it), the `ProxyPreamble`, then bytes between it and stdin/stdout.
///
/// When ssh closes our stdin it is done; we half-close TLS and wait a moment for the broker's
/// `ProxyNotice` (why a login failed), which goes to stderr: ssh has shown the user our stderr.
enum ProxyPipe {
    /// How long to wait for the broker's last words once ssh has gone.
    static let noticeWait: TimeAmount = .seconds(3)
    /// How long the proxy lives after ssh's SIGHUP, whatever it is waiting for (a silent network).
    static let hangupGrace: Double = 4

    static func run(broker: BrokerAddress, ca: String?, preamble: ProxyPreamble) throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let tls = try TandemTLS.clientContext(caPath: ca, alpn: TandemTLS.sshALPN)
        let tunnel = try TLSTunnel.connect(to: broker, context: tls, group: group) { channel in
            try channel.pipeline.syncOperations.addHandler(EarlyBytesHolder())
        }.flatMapError { error in
            ConnectFailure.explain(error, broker: broker, caPath: ca, group: group).flatMapThrowing { why in
                throw CLIError.connect(broker, why)
            }
        }.wait()
        // Our own copies: NIO closes what it owns, and stdin/stdout stay valid for the process.
        let input = dup(0)
        let output = dup(1)
        guard input >= 0, output >= 0 else { throw CLIError.local("cannot use stdin/stdout (errno \(errno))") }
        // Not reading until the preamble is out: ssh speaks first, and its bytes go after it.
        let stdio = try NIOPipeBootstrap(group: tunnel.eventLoop)
            .channelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .channelOption(ChannelOptions.autoRead, value: false)
            .takingOwnershipOfDescriptors(input: input, output: output).wait()
        let loop = tunnel.eventLoop
        let notice = try loop.submit { () throws -> NIOLoopBound<ProxyState> in
            let state = ProxyState(nonce: preamble.nonce, tunnel: tunnel, stdio: stdio)
            try tunnel.pipeline.syncOperations.addHandler(TunnelSide(state: state))
            return NIOLoopBound(state, eventLoop: loop)
        }.wait()
        try stdio.eventLoop.submit { try stdio.pipeline.syncOperations.addHandler(StdioSide(state: notice.value)) }.wait()
        var line = tunnel.allocator.buffer(capacity: 64)
        line.writeString(preamble.line)
        try tunnel.writeAndFlush(line).wait()
        tunnel.pipeline.fireUserInboundEventTriggered(TLSTunnel.Bridged())
        stdio.setAutoRead(true)
        try? tunnel.closeFuture.wait()
        try? stdio.close().wait()
        let text = try loop.submit { notice.value.notice }.wait()
        if let text { writeText("tandem: \(TerminalText.escape(text))\n", fd: 2) }
    }
}

/// What both sides of the proxy share, on the one event loop they run on.
final class ProxyState {
    let nonce: String
    let tunnel: Channel
    let stdio: Channel
    /// ssh closed our stdin: what the broker sends now is its notice, not SSH.
    var clientGone = false
    var tail: [UInt8] = []
    var notice: String?

    init(nonce: String, tunnel: Channel, stdio: Channel) {
        self.nonce = nonce
        self.tunnel = tunnel
        self.stdio = stdio
    }

    func clientLeft() {
        guard !clientGone else { return }
        clientGone = true
        // Reading may be off (ssh was not taking more): the notice must still be read.
        tunnel.setAutoRead(true)
        tunnel.close(mode: .output, promise: nil)
        let tunnel = self.tunnel
        tunnel.eventLoop.scheduleTask(in: ProxyPipe.noticeWait) { tunnel.close(promise: nil) }
    }
}

/// The broker's bytes: to ssh while it listens, then searched for the notice.
private final class TunnelSide: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let state: ProxyState
    init(state: ProxyState) { self.state = state }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        guard state.clientGone else {
            state.stdio.write(bytes, promise: nil)
            return
        }
        guard state.notice == nil, state.tail.count < ProxyNotice.maxBytes * 2 else { return }
        state.tail += bytes.readableBytesView
        if let found = ProxyNotice.find(in: state.tail, nonce: state.nonce) {
            state.notice = found
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if !state.clientGone { state.stdio.flush() }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        state.stdio.setAutoRead(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        // The broker is gone: ssh sees its input end.
        state.stdio.close(mode: .output, promise: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

/// ssh's bytes, to the broker; its end is the client leaving.
private final class StdioSide: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let state: ProxyState
    init(state: ProxyState) { self.state = state }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        state.tunnel.write(unwrapInboundIn(data), promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        state.tunnel.flush()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        state.tunnel.setAutoRead(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event { state.clientLeft() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        state.clientLeft()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A write to ssh that has exited (EPIPE): it is gone.
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension ProxyState: Sendable {}
@available(*, unavailable)
extension TunnelSide: Sendable {}
@available(*, unavailable)
extension StdioSide: Sendable {}
