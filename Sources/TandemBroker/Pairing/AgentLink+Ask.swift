import NIOCore
import NIOSSH
import TandemCore

// MARK: - Asking the end-user

extension AgentLink {
    /// How long the end-user has to answer a question before it counts as no.
    public static let answerLimit: TimeAmount = .seconds(60)

    /// Asks the end-user `question` through the agent. No answer within `limit`, an agent that
    /// refuses the channel, or a link that closes counts as `.noAnswer` (a no): never an error.
    public func ask(_ question: ConsentQuestion, within limit: TimeAmount = AgentLink.answerLimit) -> EventLoopFuture<ConsentAnswer> {
        let loop = channel.eventLoop
        let answer = loop.makePromise(of: ConsentAnswer.self)
        openSessionChannel { child in
            child.eventLoop.makeCompletedFuture {
                try child.pipeline.syncOperations.addHandler(AskHandler(question: question.encoded(), answer: answer, limit: limit))
            }
        }.whenFailure { _ in answer.succeed(.noAnswer) }
        return answer.futureResult
    }
}

/// Asks for the question subsystem, sends the question, and reads the few bytes of the answer.
private final class AskHandler: ChannelDuplexHandler {
    typealias InboundIn = SSHChannelData
    typealias OutboundIn = SSHChannelData
    typealias OutboundOut = SSHChannelData

    private let question: [UInt8]
    private let answer: EventLoopPromise<ConsentAnswer>
    private let limit: TimeAmount
    private var reply: [UInt8] = []
    private var done = false
    private var deadline: Scheduled<Void>?

    init(question: [UInt8], answer: EventLoopPromise<ConsentAnswer>, limit: TimeAmount) {
        self.question = question
        self.answer = answer
        self.limit = limit
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: limit) { channel.close(promise: nil) }
        context.channel.setOption(ChannelOptions.allowRemoteHalfClosure, value: true).whenComplete { _ in }
    }

    func channelActive(context: ChannelHandlerContext) {
        context.triggerUserOutboundEvent(SSHChannelRequestEvent.SubsystemRequest(subsystem: ConsentQuestion.subsystem, wantReply: true),
                                         promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let message = unwrapInboundIn(data)
        // The answer is one short word: an agent sending more gets read no further.
        guard case .byteBuffer(let bytes) = message.data, reply.count < 8 else { return }
        reply.append(contentsOf: bytes.readableBytesView.prefix(8 - reply.count))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is ChannelSuccessEvent:
            let buffer = context.channel.allocator.buffer(bytes: question)
            context.writeAndFlush(wrapOutboundOut(SSHChannelData(type: .channel, data: .byteBuffer(buffer))), promise: nil)
            context.close(mode: .output, promise: nil)
        case is ChannelFailureEvent:
            settle(.noAnswer)
            context.close(promise: nil)
        case ChannelEvent.inputClosed:
            settle(ConsentAnswer(reply: reply))
            context.close(promise: nil)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        settle(.noAnswer)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) { context.close(promise: nil) }

    private func settle(_ value: ConsentAnswer) {
        guard !done else { return }
        done = true
        deadline?.cancel()
        answer.succeed(value)
    }
}

@available(*, unavailable)
extension AskHandler: Sendable {}
