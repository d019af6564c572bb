import Foundation
import Glibc
import Logging
import NIOCore
import NIOPosix
import NIOSSH
import NIOSSL
import NIOTLS
import Synchronization
import TandemCore
import TandemStore

/// This replica among the others on one database: its name, the registry, and its links to the
/// replicas that own sessions its technicians reach.
public final class Peering: Sendable {
    /// Made at each start: a replica that restarts is a new one (its old sessions ended with it).
    public let replicaID: String
    public let settings: PeerSettings
    let registry: any ReplicaRegistry
    let tls: NIOSSLContext
    let serverTLS: NIOSSLContext
    private let links = Mutex<[String: EventLoopFuture<Channel>]>([:])
    private let registered = Mutex(false)
    private let retired = Mutex(false)
    /// Stopped on purpose and off the list.
    var isRetired: Bool { retired.withLock { $0 } }
    /// On the list of replicas (its heartbeat may start).
    var isRegistered: Bool { registered.withLock { $0 } }
    private let logger: Logger

    public init(settings: PeerSettings, registry: any ReplicaRegistry, logger: Logger) throws(TandemError) {
        self.settings = settings
        self.registry = registry
        self.logger = logger
        tls = try TandemTLS.peerContext(certificatePath: settings.certificatePath, keyPath: settings.keyPath, caPath: settings.caPath, server: false)
        serverTLS = try TandemTLS.peerContext(certificatePath: settings.certificatePath, keyPath: settings.keyPath, caPath: settings.caPath, server: true)
        replicaID = "r-" + (0..<4).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }

    /// Puts this replica on the list once its peer port is bound.
    public func register(boundPort: Int, partsFolder: String?) async throws(StoreError) {
        let address = settings.advertise ?? "\(settings.host):\(boundPort)"
        try await registry.registerReplica(id: replicaID, peerAddress: address, partsFolder: partsFolder)
        registered.withLock { $0 = true }
        logger.notice("replica \(replicaID): peers reach it at \(address)")
    }

    public func retire() async {
        retired.withLock { $0 = true }
        do {
            try await registry.retireReplica(id: replicaID, state: "stopped")
        } catch {
            logger.warning("replica \(replicaID): could not mark it stopped: \(error)")
        }
        let open = links.withLock { l -> [EventLoopFuture<Channel>] in defer { l = [:] }; return Array(l.values) }
        for link in open { link.whenSuccess { $0.close(promise: nil) } }
    }

    /// A channel to the replica that owns `session`, acting for `behalf`, with what it sends
    /// going to `technician`; nil when the session is not owned elsewhere (it is served here).
    func forwardedChannel(for session: SessionID, behalf: OnBehalf, technician: Channel,
                          key: NIOSSHPrivateKey) async throws -> Channel? {
        guard let owner = try await registry.owner(of: session.rawValue), owner != replicaID else { return nil }
        // An owner that is gone leaves the session to be answered here, like any session not live here.
        guard let address = try await registry.liveReplicaAddress(id: owner) else { return nil }
        return try await open(to: owner, at: address, key: key, variable: OnBehalf.variable, value: behalf.encoded) { greeted in
            PeerReturnHandler(technician: technician, greeted: greeted)
        }
    }

    /// TCP keepalive on peer links, both ways: a link to a replica that vanished without a reset
    /// (a cut cable, a partition) is closed after about 10 + 3 × 5 s, and its channels with it.
    static let keepaliveIdle = 10
    static let keepaliveInterval = 5
    static let keepaliveCount = 3

    /// How long a forwarded channel may take to open, link and login included.
    static let openLimit: TimeAmount = .seconds(10)

    /// The owner of `session` is another live replica: its id, to pass a returning agent on to.
    func remoteOwner(of session: SessionID) async -> String? {
        guard let owner = try? await registry.owner(of: session.rawValue), owner != replicaID,
              (try? await registry.liveReplicaAddress(id: owner)) != nil else { return nil }
        return owner
    }

    /// A channel to the replica that owns `session`, carrying a returning agent's connection (what
    /// it sends going to `agent`); the owner then checks the agent's way back as its own.
    func forwardedAgent(for session: SessionID, from source: String, agent: Channel, key: NIOSSHPrivateKey) async throws -> Channel {
        guard let owner = try await registry.owner(of: session.rawValue), owner != replicaID,
              let address = try await registry.liveReplicaAddress(id: owner) else {
            throw PeerLinkError.closed
        }
        let forward = AgentForward(session: session.rawValue, from: source, via: replicaID)
        return try await open(to: owner, at: address, key: key, variable: AgentForward.variable, value: forward.encoded) { greeted in
            AgentReturnHandler(agent: agent, greeted: greeted)
        }
    }

    /// A channel to `owner` on the link to it. A link that never finishes its handshake (a hung
    /// owner, mismatched keys) must not hold the caller: each channel has a deadline, and a failed
    /// link is closed and dialled anew; an owner that answers no keeps the link.
    private func open(to owner: String, at address: String, key: NIOSSHPrivateKey, variable: String, value: String,
                      handler: @escaping @Sendable (EventLoopPromise<Void>) -> any ChannelHandler) async throws -> Channel {
        let dialled = self.link(to: owner, address: address, key: key)
        let deadline = dialled.eventLoop.scheduleTask(in: Self.openLimit) {
            dialled.whenSuccess { $0.close(promise: nil) }
        }
        do {
            let channel = try await open(on: dialled, variable: variable, value: value, handler: handler)
            deadline.cancel()
            return channel
        } catch let refusal as PeerLinkError where refusal.isRefusal {
            deadline.cancel()
            throw refusal
        } catch {
            deadline.cancel()
            dialled.whenSuccess { $0.close(promise: nil) }
            throw PeerLinkError.unreachable(replica: owner, reason: "\(error)")
        }
    }

    /// Opens a session channel on the link, says first what it carries (an environment request),
    /// and waits for the owner's yes.
    private func open(on dialled: EventLoopFuture<Channel>, variable: String, value: String,
                      handler: @escaping @Sendable (EventLoopPromise<Void>) -> any ChannelHandler) async throws -> Channel {
        let link = try await dialled.get()
        let greeted = link.eventLoop.makePromise(of: Void.self)
        let opened = link.eventLoop.makePromise(of: Channel.self)
        link.eventLoop.execute {
            do {
                let ssh = try link.pipeline.syncOperations.handler(type: NIOSSHHandler.self)
                ssh.createChannel(opened, channelType: .session) { child, _ in
                    child.eventLoop.makeCompletedFuture {
                        try child.pipeline.syncOperations.addHandler(handler(greeted))
                    }
                }
            } catch {
                opened.fail(error)
            }
        }
        opened.futureResult.whenFailure { greeted.fail($0) }
        let child = try await opened.futureResult.get()
        child.triggerUserOutboundEvent(SSHChannelRequestEvent.EnvironmentRequest(wantReply: true, name: variable, value: value),
                                       promise: nil)
        do {
            try await greeted.futureResult.get()
        } catch {
            child.close(promise: nil)
            throw error
        }
        return child
    }

    /// The one link to `replica`, dialled on first use; forgotten when it fails or closes, so the
    /// next channel dials again.
    private func link(to replica: String, address: String, key: NIOSSHPrivateKey) -> EventLoopFuture<Channel> {
        let (link, fresh) = links.withLock { links -> (EventLoopFuture<Channel>, Bool) in
            if let existing = links[replica] { return (existing, false) }
            let dialled = dial(address, key: key)
            links[replica] = dialled
            return (dialled, true)
        }
        if fresh {
            let forget: @Sendable () -> Void = { [weak self] in
                self?.links.withLock { links in if links[replica] === link { links[replica] = nil } }
            }
            link.whenFailure { _ in forget() }
            link.whenSuccess { $0.closeFuture.whenComplete { _ in forget() } }
        }
        return link
    }

    private func dial(_ address: String, key: NIOSSHPrivateKey) -> EventLoopFuture<Channel> {
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
            return loop.makeFailedFuture(TandemError.invalidArgument("a replica address that is not HOST:PORT: \(address)"))
        }
        let host = String(address[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        let tls = self.tls
        let hostKey = key.publicKey
        return ClientBootstrap(group: loop)
            .connectTimeout(.seconds(5))
            .channelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
            .channelOption(ChannelOptions.socketOption(.so_keepalive), value: 1)
            .channelOption(ChannelOptions.tcpOption(.init(rawValue: TCP_KEEPIDLE)), value: Self.keepaliveIdle)
            .channelOption(ChannelOptions.tcpOption(.init(rawValue: TCP_KEEPINTVL)), value: Self.keepaliveInterval)
            .channelOption(ChannelOptions.tcpOption(.init(rawValue: TCP_KEEPCNT)), value: Self.keepaliveCount)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(NIOSSLClientHandler(context: tls, serverHostname: nil))
                    // Every replica holds the same broker key: the owner must show it, and this one logs in with it.
                    let client = SSHClientConfiguration(userAuthDelegate: BrokerKeyOffer(key: key, username: PeerServer.username),
                                                        serverAuthDelegate: PinnedHostKey(expected: hostKey))
                    try sync.addHandler(NIOSSHHandler(role: .client(client), allocator: channel.allocator, inboundChildChannelInitializer: nil))
                    // NIOSSH passes a failed login or key exchange down the pipeline and leaves the
                    // connection open; the channels waiting on it then fail with the close.
                    try sync.addHandler(CloseOnError())
                }
            }
            .connect(host: host, port: port)
    }
}

/// Closes a connection on any error that reaches the end of its pipeline.
final class CloseOnError: ChannelInboundHandler {
    typealias InboundIn = Any

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
