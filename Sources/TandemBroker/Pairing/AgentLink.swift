import NIOCore
import NIOSSH

/// The broker's SSH client connection to one approved agent.
///
/// Holds only the parent `Channel` (which is Sendable) and reaches the
/// `NIOSSHHandler` on that channel's event loop when a new channel is needed.
public struct AgentLink: Sendable {
    public let channel: Channel
    /// Whether the connection was lost rather than closed.
    public let health: LinkHealth

    public init(channel: Channel, health: LinkHealth = LinkHealth()) {
        self.channel = channel
        self.health = health
    }

    /// Opens a session channel to the agent and installs `initializer` in it.
    public func openSessionChannel(
        _ initializer: @escaping @Sendable (Channel) -> EventLoopFuture<Void>
    ) -> EventLoopFuture<Channel> {
        let loop = channel.eventLoop
        let parent = channel
        return loop.flatSubmit {
            let promise = loop.makePromise(of: Channel.self)
            do {
                let ssh = try parent.pipeline.syncOperations.handler(type: NIOSSHHandler.self)
                ssh.createChannel(promise, channelType: .session) { child, _ in initializer(child) }
            } catch {
                promise.fail(error)
            }
            return promise.futureResult
        }
    }

    public func close() { channel.close(promise: nil) }
}

// MARK: - Telling the agent why the session ends

extension AgentLink {
    /// The subsystem the broker opens to tell the agent why the session ends; only the broker
    /// can open channels to the agent, and it never relays a technician's request for this name.
    public static let endNoticeSubsystem = "tandem-end@tandem"
    /// The subsystem for a notice the agent shows while the session goes on (the idle warning).
    public static let noticeSubsystem = "tandem-notice@tandem"

    /// Shows `text` to the end-user; the session goes on. A link that cannot take it is left as it is.
    public func notice(_ text: String) {
        _ = openSessionChannel { child in
            child.eventLoop.makeCompletedFuture {
                try child.pipeline.syncOperations.addHandler(NoticeWriter(text: text, subsystem: AgentLink.noticeSubsystem))
            }
        }
    }

    /// Tells the agent why the session ends (it shows the user), then closes the link; a
    /// link that cannot be told in two seconds is closed anyway.
    public func end(reason: String) {
        let parent = channel
        let deadline = parent.eventLoop.scheduleTask(in: .seconds(2)) { parent.close(promise: nil) }
        openSessionChannel { child in
            child.eventLoop.makeCompletedFuture {
                try child.pipeline.syncOperations.addHandler(NoticeWriter(text: reason, subsystem: AgentLink.endNoticeSubsystem))
            }
        }.flatMap { $0.closeFuture }.whenComplete { _ in
            deadline.cancel()
            parent.close(promise: nil)
        }
    }
}

/// Asks for a subsystem of the broker's own (the end, a notice, the people list), sends its
/// bytes, and closes.
final class NoticeWriter: ChannelDuplexHandler {
    typealias InboundIn = SSHChannelData
    typealias OutboundIn = SSHChannelData
    typealias OutboundOut = SSHChannelData
    private let bytes: [UInt8]
    private let subsystem: String

    /// A text notice: the agent shows at most 512 bytes of it.
    convenience init(text: String, subsystem: String) {
        self.init(bytes: Array(String(text.prefix(512)).utf8), subsystem: subsystem)
    }

    init(bytes: [UInt8], subsystem: String) {
        self.bytes = bytes
        self.subsystem = subsystem
    }

    func channelActive(context: ChannelHandlerContext) {
        context.triggerUserOutboundEvent(SSHChannelRequestEvent.SubsystemRequest(subsystem: subsystem, wantReply: true),
                                         promise: nil)
        context.fireChannelActive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is ChannelSuccessEvent:
            let buffer = context.channel.allocator.buffer(bytes: bytes)
            context.writeAndFlush(wrapOutboundOut(SSHChannelData(type: .channel, data: .byteBuffer(buffer))), promise: nil)
            context.close(mode: .output, promise: nil)
        case is ChannelFailureEvent:
            context.close(promise: nil)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) { context.close(promise: nil) }
}

@available(*, unavailable)
extension NoticeWriter: Sendable {}
