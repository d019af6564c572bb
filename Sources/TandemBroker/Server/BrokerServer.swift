import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSH
import NIOSSL
import NIOTLS
import TandemAudit
import TandemCore
import TandemStore
import TandemText

/// The broker's one TLS port: ALPN decides whether a connection is an agent or a technician.
public final class BrokerServer: Sendable {
    public let broker: Broker
    private let config: BrokerConfig
    private let tls: NIOSSLContext
    private let group: MultiThreadedEventLoopGroup
    private let logger: Logger

    private let http: HTTPSide

    /// `metrics` renders the Prometheus text for `/metrics` (admin tokens only); nil serves none there.
    public init(broker: Broker, logger: Logger, metrics: (@Sendable () -> [UInt8])? = nil) throws {
        self.broker = broker
        http = try HTTPSide(services: BrokerServices(broker: broker), metrics: metrics, assets: broker.config.consoleAssets, logger: logger)
        self.config = broker.config
        self.logger = logger
        tls = try TandemTLS.serverContext(certificatePath: config.certificatePath, keyPath: config.keyPath)
        group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        for dir in [config.recordingsDirectory, config.partsDirectory, config.filesDirectory] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
    }

    /// Binds the port; the returned channel's `closeFuture` completes when the server stops.
    public func bind() async throws -> Channel {
        let tls = self.tls
        let broker = self.broker
        let config = self.config
        let logger = self.logger
        let http = self.http
        return try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let guardHandler = ConnectionGuard(timeout: .milliseconds(Int64(config.handshakeTimeout * 1000)), logger: logger)
                    let sync = channel.pipeline.syncOperations
                    if !config.proxyFrom.isEmpty, let ip = channel.remoteAddress?.ipAddress.flatMap(IPAddressText.normalized),
                       config.proxyFrom.contains(ip) {
                        try sync.addHandler(ProxyHeaderHandler(logger: logger))
                    }
                    try sync.addHandler(NIOSSLServerHandler(context: tls))
                    try sync.addHandler(guardHandler)
                    let guardBox = NIOLoopBound(guardHandler, eventLoop: channel.eventLoop)
                    try sync.addHandler(ApplicationProtocolNegotiationHandler { result, channel in
                        // ALPN http/1.1, or none (a plain HTTPS client): the HTTP API.
                        switch result {
                        case .negotiated(TandemTLS.httpALPN), .fallback: return http.serve(channel, replacing: guardBox.value)
                        default: break
                        }
                        return channel.eventLoop.makeCompletedFuture {
                            try Self.route(result, channel: channel, before: guardBox.value, broker: broker, logger: logger)
                        }
                    }, position: .after(sync.handler(type: NIOSSLServerHandler.self)))
                }
            }
            .bind(host: config.host, port: config.port)
            .get()
    }

    private static func route(_ result: ALPNResult, channel: Channel, before guardHandler: ConnectionGuard,
                              broker: Broker, logger: Logger) throws {
        let sync = channel.pipeline.syncOperations
        switch result {
        case .negotiated(TandemTLS.sshALPN):
            let identity = ConnectionIdentity()
            identity.peer = channel.peerText
            let auth = TechnicianAuthenticator(store: broker.store, identity: identity, logger: logger,
                                               onAuthenticated: { guardHandler.markEstablished() },
                                               onBrokerError: { channel.close(promise: nil) })
            let forwarding = ForwardingRefusal(broker: broker, identity: NIOLoopBound(identity, eventLoop: channel.eventLoop), logger: logger)
            let server = SSHServerConfiguration(hostKeys: [broker.identity.nioPrivateKey], userAuthDelegate: auth,
                                                globalRequestDelegate: forwarding)
            let identityBox = NIOLoopBound(identity, eventLoop: channel.eventLoop)
            let ssh = NIOSSHHandler(role: .server(server), allocator: channel.allocator) { child, type in
                child.eventLoop.makeCompletedFuture {
                    try Self.initializeTechnicianChannel(child, type: type, identity: identityBox.value, broker: broker, logger: logger)
                }
            }
            try sync.addHandler(ssh, position: .before(guardHandler))
            try sync.addHandler(ProxyLineHandler(identity: identity, logger: logger), position: .before(ssh))
            channel.closeFuture.whenComplete { _ in identityBox.value.logUnusableKeys(logger) }
        case .negotiated(TandemTLS.agentALPN):
            let health = LinkHealth()
            try sync.addHandler(LinkLossWatcher(health: health), position: .before(guardHandler))
            let watcher = try sync.handler(type: LinkLossWatcher.self)
            try addAgentPipeline(to: sync, after: watcher, broker: broker, health: health, source: nil, logger: logger)
        default:
            logger.warning("dropped connection from \(channel.remoteAddress?.description ?? "?"): no supported ALPN protocol")
            channel.close(promise: nil)
        }
    }

    /// An agent's side of pairing after `previous`: frames, then the join (or a return). `source`
    /// is the agent's address when another replica passed its connection on.
    static func addAgentPipeline(to sync: ChannelPipeline.SynchronousOperations, after previous: any ChannelHandler, broker: Broker,
                                 health: LinkHealth, source: String?, logger: Logger) throws {
        let frames = AgentFrameHandler(holdsUntilReleased: true) { message in
            if case .consent(let c) = message { return c.approved }
            // A resume is answered with SSH or a refusal and a close: nothing more is framed.
            if case .resume = message { return true }
            return false
        }
        try sync.addHandler(frames, position: .after(previous))
        try sync.addHandler(AgentJoinHandler(broker: broker, config: broker.config, frameHandler: frames, health: health, source: source, logger: logger),
                            position: .after(frames))
    }

    private static func initializeTechnicianChannel(_ child: Channel, type: SSHChannelType, identity: ConnectionIdentity,
                                                    broker: Broker, logger: Logger) throws {
        switch type {
        case .session:
            try child.pipeline.syncOperations.addHandler(TechnicianChannelHandler(broker: broker, identity: identity, logger: logger))
        case .directTCPIP(let target):
            let who = identity.user?.name ?? "unknown"
            let dest = "\(target.targetHost):\(target.targetPort)"
            if identity.recordsRefusal(.portForwardRefused, logger: logger) {
                logger.notice("refused port forwarding to \(TerminalText.field(dest, limit: 300)) for \(TerminalText.field(who, limit: 64))")
                broker.journal.submit(PortForwardRefused(request: "direct-tcpip", target: String(dest.prefix(300))), ticket: nil, session: nil, actor: who)
            }
            throw TandemError.permissionDenied("port forwarding is not allowed")
        default:
            let who = identity.user?.name ?? "unknown"
            if identity.recordsRefusal(.channelRefused, logger: logger) {
                logger.notice("refused channel type \(TerminalText.field("\(type)", limit: 100)) for \(TerminalText.field(who, limit: 64))")
                broker.journal.submit(ChannelRefused(request: String("\(type)".prefix(300))), ticket: nil, session: nil, actor: who)
            }
            throw TandemError.permissionDenied("channel type not allowed")
        }
    }

    /// Binds the peer port when this broker is one of several (`peer-listen`); nil otherwise.
    public func bindPeer() async throws -> Channel? {
        guard let peering = broker.peering else { return nil }
        return try await PeerServer(broker: broker, peering: peering, group: group, logger: logger).bind()
    }

    public func shutdown() async throws {
        try await group.shutdownGracefully()
    }
}
