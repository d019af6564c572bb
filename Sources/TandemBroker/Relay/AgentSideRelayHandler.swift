import NIOCore
import NIOSSH

/// The agent's half of a relayed channel: what the agent sends goes to the technician.
final class AgentSideRelayHandler: ChannelDuplexHandler {
    typealias InboundIn = SSHChannelData
    typealias OutboundIn = SSHChannelData
    typealias OutboundOut = SSHChannelData

    private let technician: Channel
    private let recorder: AsciicastRecorder?
    private let observer: SFTPObserver?
    private let counter: RelayCounter
    private var eofSent: EventLoopFuture<Void>?

    private let activity: SessionActivity
    private let health: LinkHealth

    init(technician: Channel, recorder: AsciicastRecorder?, observer: SFTPObserver?, counter: RelayCounter, activity: SessionActivity,
         health: LinkHealth) {
        self.health = health
        self.activity = activity
        self.technician = technician
        self.recorder = recorder
        self.observer = observer
        self.counter = counter
    }

    func handlerAdded(context: ChannelHandlerContext) {
        context.channel.setOption(ChannelOptions.allowRemoteHalfClosure, value: true).whenComplete { _ in }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let message = unwrapInboundIn(data)
        technician.write(message, promise: nil)
        if case .byteBuffer(let bytes) = message.data {
            counter.fromAgent(bytes.readableBytes)
            if let recorder { recorder.output(bytes) }
            if let observer, case .close = bytes.withUnsafeReadableBytes({ observer.fromAgent($0) }) {
                context.close(promise: nil)
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        technician.flush()
        activity.touch()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        technician.setAutoRead(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case let status as SSHChannelRequestEvent.ExitStatus:
            counter.exitStatus = status.exitStatus
            technician.triggerUserOutboundEvent(status, promise: nil)
        case let signal as SSHChannelRequestEvent.ExitSignal:
            technician.triggerUserOutboundEvent(signal, promise: nil)
        case is ChannelFailureEvent:
            let text = "tandem: the agent refused this request\n"
            var buffer = context.channel.allocator.buffer(capacity: text.utf8.count)
            buffer.writeString(text)
            technician.write(SSHChannelData(type: .stdErr, data: .byteBuffer(buffer)), promise: nil)
            technician.triggerUserOutboundEvent(SSHChannelRequestEvent.ExitStatus(exitStatus: 1), promise: nil)
            context.close(promise: nil)
        case ChannelEvent.inputClosed:
            eofSent = sendEOF()
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        // Gone with a lost connection while the output still ran: the relay waits for the agent.
        if health.lost && eofSent == nil {
            technician.pipeline.fireUserInboundEventTriggered(AgentChannelLost())
            context.fireChannelInactive()
            return
        }
        // The technician may not have taken all the output yet: EOF queues behind it,
        // so close only once the EOF has gone out, or the tail of the output is lost.
        let technician = self.technician
        (eofSent ?? sendEOF()).whenComplete { _ in technician.close(promise: nil) }
        // Nothing more can pass: the channel's record is complete now, whether or not the
        // technician's client ever answers the close (a hostile one need not).
        technician.pipeline.fireUserInboundEventTriggered(AgentChannelClosed())
        context.fireChannelInactive()
    }

    private func sendEOF() -> EventLoopFuture<Void> {
        let promise = technician.eventLoop.makePromise(of: Void.self)
        technician.close(mode: .output, promise: promise)
        return promise.futureResult
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension AgentSideRelayHandler: Sendable {}

/// Told to the technician's channel when the agent's side of a relay is gone.
struct AgentChannelClosed: Sendable {}
