import NIOCore
import NIOSSH

/// The agent's half of a relayed channel: what the agent sends goes to the technician.
final class AgentSideRelayHandler: ChannelDuplexHandler {
    typealias InboundIn = SSHChannelData
    typealias OutboundIn = SSHChannelData
    typealias OutboundOut = SSHChannelData

    private let technician: Channel
    private let recorder: AsciicastRecorder?
    private let counter: RelayCounter

    init(technician: Channel, recorder: AsciicastRecorder?, counter: RelayCounter) {
        self.technician = technician
        self.recorder = recorder
        self.counter = counter
    }

    func handlerAdded(context: ChannelHandlerContext) {
        context.channel.setOption(ChannelOptions.allowRemoteHalfClosure, value: true).whenComplete { _ in }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let message = unwrapInboundIn(data)
        if case .byteBuffer(let bytes) = message.data {
            counter.fromAgent(bytes.readableBytes)
            if let recorder { recorder.output(Array(bytes.readableBytesView)) }
        }
        technician.write(message, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        technician.flush()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        technician.setOption(ChannelOptions.autoRead, value: context.channel.isWritable).whenComplete { _ in }
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
            technician.close(mode: .output, promise: nil)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        technician.close(promise: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension AgentSideRelayHandler: Sendable {}
