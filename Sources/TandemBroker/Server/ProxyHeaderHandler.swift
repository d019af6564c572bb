import Logging
import NIOCore
import Synchronization
import TandemCore
import TandemText

/// First on a connection from a `proxy-from` address: reads the load balancer's PROXY v2 header,
/// notes the client it names (`Channel.peerText`, the guess limiter's source), then steps aside
/// with whatever followed it. A connection from there without a valid header is dropped.
final class ProxyHeaderHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private var buffered: ByteBuffer?
    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if var held = buffered {
            held.writeBuffer(&incoming)
            incoming = held
        }
        let outcome: ProxyHeaderV2.Outcome
        do {
            outcome = try ProxyHeaderV2.parse(incoming.readableBytesView)
        } catch {
            logger.warning("dropped a connection from load balancer \(context.channel.remoteText): \(TerminalText.field("\(error)", limit: 200))")
            context.close(promise: nil)
            return
        }
        switch outcome {
        case .needMore:
            buffered = incoming
        case .header(let header):
            if let source = header.source { ClientAddressBook.shared.note(source, for: context.channel) }
            incoming.moveReaderIndex(forwardBy: header.length)
            buffered = nil
            if incoming.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(incoming)) }
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }
}

/// The clients behind the load balancer, by connection, for as long as each connection lives.
final class ClientAddressBook: Sendable {
    static let shared = ClientAddressBook()
    private let entries = Mutex<[ObjectIdentifier: (address: String, port: Int)]>([:])

    func note(_ source: (address: String, port: Int), for channel: Channel) {
        let key = ObjectIdentifier(channel)
        entries.withLock { $0[key] = source }
        channel.closeFuture.whenComplete { [self] _ in _ = entries.withLock { $0.removeValue(forKey: key) } }
    }

    func source(of channel: Channel) -> (address: String, port: Int)? {
        entries.withLock { $0[ObjectIdentifier(channel)] }
    }
}
