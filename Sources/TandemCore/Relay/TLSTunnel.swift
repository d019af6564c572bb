import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// A TLS connection to the broker whose plaintext side a blocking library (libssh) can use.
///
/// NIO carries TLS; `socketpair` hands libssh a plain file descriptor, and two
/// relays copy bytes between the pair and the TLS channel.
public enum TLSTunnel {
    /// Fired on the TLS channel once the bridge relays both ways (see `EarlyBytesHolder`).
    public struct Bridged: Sendable { public init() {} }

    /// Connects with TLS and the given ALPN protocol, verifying the broker's certificate; the
    /// future completes once the handshake has (so a refused certificate fails right here, and
    /// `ConnectFailure` can say why). `handlers` are added after TLS (for framing before the bridge).
    public static func connect(
        to address: BrokerAddress, context: NIOSSLContext, group: EventLoopGroup,
        handlers: @escaping @Sendable (Channel) throws -> Void = { _ in }
    ) -> EventLoopFuture<Channel> {
        // Certificates name hosts, not ports; IP literals are checked against IP SANs.
        let isIP = address.host.allSatisfy { $0.isNumber || $0 == "." || $0 == ":" }
        let serverName = isIP ? nil : address.host
        return ClientBootstrap(group: group)
            .connectTimeout(.seconds(10))
            .channelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
            .channelOption(ChannelOptions.recvAllocator, value: TandemTLS.receiveAllocator)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let tls = try NIOSSLClientHandler(context: context, serverHostname: serverName)
                    try channel.pipeline.syncOperations.addHandler(tls)
                    try channel.pipeline.syncOperations.addHandler(HandshakeWatcher(promise: channel.eventLoop.makePromise()))
                    try handlers(channel)
                }
            }
            .connect(host: address.host, port: address.port)
            .flatMap { channel in
                channel.eventLoop.flatSubmit {
                    do {
                        return try HandshakeWatcher.completion(of: channel, within: handshakeLimit).map { channel }
                    } catch {
                        return channel.eventLoop.makeFailedFuture(error)
                    }
                }.flatMapErrorThrowing { error in
                    channel.close(promise: nil)
                    throw error
                }
            }
    }

    /// How long the TLS handshake may take once TCP is up.
    public static let handshakeLimit: TimeAmount = .seconds(10)

    /// Makes a socketpair, relays one end to `channel`, and returns the other end for libssh.
    public static func bridge(_ channel: Channel, group: EventLoopGroup) -> EventLoopFuture<(fd: Int32, pair: Channel)> {
        var fds: [Int32] = [0, 0]
        // CLOEXEC: the user's shell must never inherit the plaintext SSH stream.
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            return channel.eventLoop.makeFailedFuture(TandemError.io("cannot create a socket pair (errno \(errno))"))
        }
        let ours = fds[0]
        let theirs = fds[1]
        return ClientBootstrap(group: group)
            .channelOption(ChannelOptions.allowRemoteHalfClosure, value: false)
            .channelOption(ChannelOptions.recvAllocator, value: TandemTLS.receiveAllocator)
            .withConnectedSocket(ours)
            .flatMap { pair in
                ByteRelayHandler.link(pair, channel).map {
                    channel.pipeline.fireUserInboundEventTriggered(Bridged())
                    return (theirs, pair)
                }
            }
    }
}
