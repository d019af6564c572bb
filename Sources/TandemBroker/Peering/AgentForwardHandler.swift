import NIOCore
import NIOSSH

/// On the replica a returning agent reached, in the agent's connection after the frame reader:
/// once the owner's channel is attached, every byte from the agent goes to it, with back-pressure.
/// Bytes that come before are held (a few; an agent waits for the owner's answer first).
final class AgentForwardHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer

    private var owner: Channel?
    private var held: [ByteBuffer] = []
    private var heldBytes = 0
    private var closed = false
    /// This replica closed the agent's connection (it is stopping, or the owner let the agent go):
    /// not the agent's goodbye.
    private var closedHere = false
    private let health: LinkHealth
    /// The most an agent may send before the owner answers.
    static let holdLimit = 64 * 1024

    init(health: LinkHealth) { self.health = health }

    /// The owner's channel is open: what was held goes first.
    func attach(_ channel: Channel, context: ChannelHandlerContext) {
        guard !closed else {
            channel.close(promise: nil)
            return
        }
        owner = channel
        for buffer in held { channel.write(SSHChannelData(type: .channel, data: .byteBuffer(buffer)), promise: nil) }
        held = []
        channel.flush()
        channel.setAutoRead(context.channel.isWritable)
        context.channel.setAutoRead(channel.isWritable)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        guard let owner else {
            heldBytes += buffer.readableBytes
            guard heldBytes <= Self.holdLimit else { return context.close(promise: nil) }
            held.append(buffer)
            return
        }
        owner.write(SSHChannelData(type: .channel, data: .byteBuffer(buffer)), promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        owner?.flush()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        // The owner may not outrun an agent that reads slowly.
        owner?.setAutoRead(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if mode == .all { closedHere = true }
        context.close(mode: mode, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        if let owner {
            owner.flush()
            // The agent's clean goodbye ends the session on the owner; a lost connection, or one
            // this replica closed (a rolling restart), is waited for: the agent comes back elsewhere.
            if !health.lost && !closedHere {
                owner.triggerUserOutboundEvent(SSHChannelRequestEvent.EnvironmentRequest(wantReply: false, name: AgentForward.goodbye, value: "1"),
                                               promise: nil)
            }
            owner.close(promise: nil)
        }
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension AgentForwardHandler: Sendable {}

/// On the replica a returning agent reached, in the owner's channel: what the owner sends goes to
/// the agent, with back-pressure; the owner's answer to the forward opens the way.
final class AgentReturnHandler: ChannelInboundHandler {
    typealias InboundIn = SSHChannelData

    private let agent: Channel
    private var greeted: EventLoopPromise<Void>?
    /// The owner took the connection: from then on its close is the agent's.
    private var accepted = false
    private var lastWrite: EventLoopFuture<Void>?
    static let drainLimit: TimeAmount = .seconds(30)

    init(agent: Channel, greeted: EventLoopPromise<Void>) {
        self.agent = agent
        self.greeted = greeted
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .byteBuffer(let buffer) = unwrapInboundIn(data).data else { return }
        lastWrite = agent.write(buffer)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        agent.flush()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        agent.setAutoRead(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is ChannelSuccessEvent:
            accepted = true
            greeted?.succeed(())
            greeted = nil
        case is ChannelFailureEvent:
            greeted?.fail(PeerLinkError.refusedAgent)
            greeted = nil
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        greeted?.fail(PeerLinkError.closed)
        greeted = nil
        // Not taken: the replica the agent reached tells it why, then closes.
        guard accepted else { return context.fireChannelInactive() }
        // The owner closed (the session ended, or it let the agent go): so does the agent's connection,
        // once what the owner sent has gone out.
        let agent = self.agent
        agent.flush()
        (lastWrite ?? agent.eventLoop.makeSucceededVoidFuture()).whenComplete { _ in agent.close(promise: nil) }
        // An agent that never reads must not keep its connection.
        agent.eventLoop.scheduleTask(in: Self.drainLimit) { agent.close(promise: nil) }
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension AgentReturnHandler: Sendable {}

/// On the owner, at the head of a channel a replica passes an agent's connection on: SSH channel
/// data becomes the byte stream the agent's pipeline reads and writes, and the channel's close is
/// a lost connection unless the passing replica said the agent left cleanly.
final class ForwardedAgentLink: ChannelDuplexHandler {
    typealias InboundIn = SSHChannelData
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = SSHChannelData

    private let health: LinkHealth
    private var goodbye = false

    init(health: LinkHealth) { self.health = health }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .byteBuffer(let buffer) = unwrapInboundIn(data).data else { return }
        context.fireChannelRead(wrapInboundOut(buffer))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(wrapOutboundOut(SSHChannelData(type: .channel, data: .byteBuffer(unwrapOutboundIn(data)))), promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let request = event as? SSHChannelRequestEvent.EnvironmentRequest, request.name == AgentForward.goodbye {
            goodbye = true
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        // Before the agent's SSH and its relays hear of the close: they wait for a lost link.
        if !goodbye { health.markLost() }
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension ForwardedAgentLink: Sendable {}
