import NIOCore
import NIOSSH

/// The forwarding replica's end of a channel on the peer link: what the owner sends goes to the
/// technician, with back-pressure, and the owner's answer to the on-behalf request opens the way.
final class PeerReturnHandler: ChannelDuplexHandler {
    typealias InboundIn = SSHChannelData
    typealias OutboundIn = SSHChannelData
    typealias OutboundOut = SSHChannelData

    private let technician: Channel
    /// Answered by the owner's reply to the on-behalf request.
    private var greeted: EventLoopPromise<Void>?
    private var eofSent: EventLoopFuture<Void>?
    /// The owner said how the channel ended; without it, a close means the link (or the owner) went.
    private var sawExit = false
    /// The owner agreed to act for the technician: from then on a close without an exit status is news.
    private var accepted = false

    init(technician: Channel, greeted: EventLoopPromise<Void>) {
        self.technician = technician
        self.greeted = greeted
    }

    func handlerAdded(context: ChannelHandlerContext) {
        context.channel.setOption(ChannelOptions.allowRemoteHalfClosure, value: true).whenComplete { _ in }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        technician.write(unwrapInboundIn(data), promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        technician.flush()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        // The owner's side may not outrun a technician who reads slowly, and the other way round.
        technician.setAutoRead(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is ChannelSuccessEvent:
            accepted = true
            greeted?.succeed(())
            greeted = nil
        case is ChannelFailureEvent:
            greeted?.fail(PeerLinkError.refusedOnBehalf)
            greeted = nil
        case let status as SSHChannelRequestEvent.ExitStatus:
            sawExit = true
            technician.flush()
            technician.triggerUserOutboundEvent(status, promise: nil)
        case let signal as SSHChannelRequestEvent.ExitSignal:
            sawExit = true
            technician.triggerUserOutboundEvent(signal, promise: nil)
        case ChannelEvent.inputClosed:
            // What this read batch passed on is not flushed yet, and an EOF drops unflushed writes.
            technician.flush()
            eofSent = technician.close(mode: .output)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if accepted, !sawExit {
            let text = "\r\ntandem: the broker replica that holds this session closed this channel (or is gone)\r\n"
            var buffer = context.channel.allocator.buffer(capacity: text.utf8.count)
            buffer.writeString(text)
            technician.write(SSHChannelData(type: .stdErr, data: .byteBuffer(buffer)), promise: nil)
            technician.triggerUserOutboundEvent(SSHChannelRequestEvent.ExitStatus(exitStatus: 255), promise: nil)
        }
        greeted?.fail(PeerLinkError.closed)
        greeted = nil
        // The end of the output may still wait for the technician's window: close behind it.
        let technician = self.technician
        technician.flush()
        (eofSent ?? technician.close(mode: .output)).whenComplete { _ in technician.close(promise: nil) }
        // A technician who never opens their window must not keep the channel forever.
        technician.eventLoop.scheduleTask(in: TechnicianChannelHandler.answerDrainLimit) { technician.close(promise: nil) }
        context.fireChannelInactive()
    }
}

/// Why a channel could not be forwarded to the replica that owns its session.
enum PeerLinkError: Error, CustomStringConvertible {
    case refusedOnBehalf
    case refusedAgent
    case closed
    case unreachable(replica: String, reason: String)

    /// The owner answered no: the link itself is fine.
    var isRefusal: Bool {
        switch self {
        case .refusedOnBehalf, .refusedAgent: true
        case .closed, .unreachable: false
        }
    }

    var description: String {
        switch self {
        case .refusedOnBehalf: "the broker replica that holds this session refused to act for you (is your account still active?)"
        case .refusedAgent: "the broker replica that holds this session refused to take this computer's connection"
        case .closed: "the link to the broker replica that holds this session closed"
        case .unreachable(let replica, let reason): "cannot reach broker replica \(replica), which holds this session: \(reason)"
        }
    }
}
