import Glibc
import Logging
import NIOCore
import NIOPosix
import NIOSSH
import NIOSSL
import NIOTLS
import TandemCore
import TandemText

/// The port other replicas forward technician channels to: mutual TLS with a replica certificate
/// from the peer CA, ALPN `tandem-peer/1`, then SSH logged in with the broker key all replicas
/// share. Each channel is served by `TechnicianChannelHandler` once `PeerChannelGate` has let it in.
struct PeerServer {
    static let username = "tandem-replica"
    let broker: Broker
    let peering: Peering
    let group: EventLoopGroup
    let logger: Logger

    func bind() async throws -> Channel {
        let tls = peering.serverTLS
        let broker = self.broker
        let logger = self.logger
        let timeout = TimeAmount.milliseconds(Int64(broker.config.handshakeTimeout * 1000))
        return try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 64)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.so_keepalive), value: 1)
            .childChannelOption(ChannelOptions.tcpOption(.init(rawValue: TCP_KEEPIDLE)), value: Peering.keepaliveIdle)
            .childChannelOption(ChannelOptions.tcpOption(.init(rawValue: TCP_KEEPINTVL)), value: Peering.keepaliveInterval)
            .childChannelOption(ChannelOptions.tcpOption(.init(rawValue: TCP_KEEPCNT)), value: Peering.keepaliveCount)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(NIOSSLServerHandler(context: tls))
                    try sync.addHandler(PeerHandshakeWatch(broker: broker, timeout: timeout, logger: logger))
                }
            }
            .bind(host: peering.settings.host, port: peering.settings.port)
            .get()
    }
}

/// Until the peer's TLS is done: a peer without a valid replica certificate, or speaking another
/// protocol, is refused and logged; one that is let in gets the SSH server.
final class PeerHandshakeWatch: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let broker: Broker
    private let timeout: TimeAmount
    private let logger: Logger
    private var deadline: Scheduled<Void>?
    private var done = false

    init(broker: Broker, timeout: TimeAmount, logger: Logger) {
        self.broker = broker
        self.timeout = timeout
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        let logger = self.logger
        deadline = context.eventLoop.scheduleTask(in: timeout) {
            logger.warning("refused a peer connection from \(channel.peerText): no TLS handshake within the handshake timeout")
            channel.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard case TLSUserEvent.handshakeCompleted(let negotiated) = event else {
            return context.fireUserInboundEventTriggered(event)
        }
        deadline?.cancel()
        done = true
        guard negotiated == TandemTLS.peerALPN else {
            logger.warning("refused a peer connection from \(context.channel.peerText): it does not speak \(TandemTLS.peerALPN)")
            return context.close(promise: nil)
        }
        do {
            try serveSSH(context: context)
        } catch {
            logger.error("peer connection from \(context.channel.peerText): \(error)")
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        deadline?.cancel()
        if !done {
            // Most often a missing certificate, or one the peer CA did not sign.
            logger.warning("refused a peer connection from \(context.channel.peerText): no valid replica certificate (\(TerminalText.field("\(error)", limit: 300)))")
        } else {
            logger.notice("peer connection from \(context.channel.peerText) failed: \(TerminalText.field("\(error)", limit: 300))")
        }
        context.close(promise: nil)
    }

    private func serveSSH(context: ChannelHandlerContext) throws {
        let broker = self.broker
        let logger = self.logger
        let peer = context.channel.peerText
        let key = broker.identity.nioPrivateKey
        let server = SSHServerConfiguration(hostKeys: [key], userAuthDelegate: ReplicaKeyCheck(expected: key.publicKey, peer: peer, logger: logger))
        let ssh = NIOSSHHandler(role: .server(server), allocator: context.channel.allocator) { child, type in
            child.eventLoop.makeCompletedFuture {
                guard case .session = type else { throw TandemError.permissionDenied("only session channels cross the peer link") }
                let identity = ConnectionIdentity()
                identity.peer = peer
                let sync = child.pipeline.syncOperations
                try sync.addHandler(PeerChannelGate(identity: identity, broker: broker, peer: peer, logger: logger))
            }
        }
        try context.pipeline.syncOperations.addHandler(ssh, position: .after(context.handler))
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}

/// The peer link's login: the broker key every replica holds, under the replicas' user name.
final class ReplicaKeyCheck: NIOSSHServerUserAuthenticationDelegate {
    let supportedAuthenticationMethods: NIOSSHAvailableUserAuthenticationMethods = .publicKey
    private let expected: NIOSSHPublicKey
    private let peer: String
    private let logger: Logger

    init(expected: NIOSSHPublicKey, peer: String, logger: Logger) {
        self.expected = expected
        self.peer = peer
        self.logger = logger
    }

    func requestReceived(request: NIOSSHUserAuthenticationRequest, responsePromise: EventLoopPromise<NIOSSHUserAuthenticationOutcome>) {
        guard case .publicKey(let offered) = request.request, request.username == PeerServer.username else {
            return responsePromise.succeed(.failure)
        }
        guard offered.publicKey == expected else {
            logger.warning("refused a peer login from \(peer): its broker key is not this broker's (copy broker_ed25519.key to every replica)")
            return responsePromise.succeed(.failure)
        }
        responsePromise.succeed(.success)
    }
}
