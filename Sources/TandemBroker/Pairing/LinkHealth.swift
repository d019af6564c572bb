import NIOCore
import Synchronization

/// How an agent's connection ended: said goodbye (TLS closed cleanly, or the broker closed it)
/// or was lost (reset, or cut without TLS's close): only a lost one is waited for.
public final class LinkHealth: Sendable {
    private let lostFlag = Atomic<Bool>(false)

    public init() {}

    public var lost: Bool { lostFlag.load(ordering: .relaxed) }
    func markLost() { lostFlag.store(true, ordering: .relaxed) }
}

/// Sits right after TLS on an agent's connection: an error on the way to the close (an unclean
/// TLS shutdown, a reset) marks the link lost before SSH closes its channels, so each relay
/// knows to wait rather than end.
final class LinkLossWatcher: ChannelInboundHandler {
    typealias InboundIn = NIOAny
    let health: LinkHealth

    init(health: LinkHealth) { self.health = health }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        health.markLost()
        context.fireErrorCaught(error)
    }
}

@available(*, unavailable)
extension LinkLossWatcher: Sendable {}
