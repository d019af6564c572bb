import NIOCore
import NIOSSH
import TandemCore
import TandemText

/// Fired on a technician's channel when its agent channel went with a lost connection.
struct AgentChannelLost: Sendable {}

/// Fired on a technician's channel when its session ended: one waiting for its agent closes.
struct SessionOver: Sendable {}

// MARK: - Waiting for the agent, and taking the relay up again

extension TechnicianChannelHandler {
    /// Most input held while the agent is away before the technician's side is not read.
    static let heldInputLimit = 1 << 20

    /// The agent's connection dropped under this relay: hold the technician's input and wait
    /// until the broker hands a new link to take the relay up on.
    func agentLost(context: ChannelHandlerContext) {
        guard case .relaying = mode, let attached, let tag else { return }
        mode = .waitingForAgent(held: [], bytes: 0)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let me = NIOLoopBound(self, eventLoop: context.eventLoop)
        let broker = self.broker
        Task {
            await broker.suspendRelay(attached.id, tag: tag) { link in
                bound.eventLoop.execute { me.value.takeUp(on: link, context: bound.value) }
            }
        }
    }

    /// Opens a channel on the agent's new link that names this relay and what arrived of its output;
    /// the agent answers with what arrived of the input, and each side sends the rest again.
    private func takeUp(on link: AgentLink, context: ChannelHandlerContext) {
        guard case .waitingForAgent(let held, _) = mode else { return }
        mode = .connecting(pending: held)
        guard let tag else { return }
        let technician = context.channel
        let accepted = context.eventLoop.makePromise(of: UInt64.self)
        let (recorder, observer, counter, outputLog, anchor) = (self.recorder, self.observer, self.counter, self.outputLog, self.anchor)
        guard let activity = self.activity else { return }
        let received = counter.totals.fromAgent
        let opened = link.openSessionChannel { agentChannel in
            agentChannel.eventLoop.makeCompletedFuture {
                let sync = agentChannel.pipeline.syncOperations
                try sync.addHandler(ResumeHandshake(tag: tag, received: UInt64(received), accepted: accepted))
                let handler = AgentSideRelayHandler(technician: technician, recorder: recorder, observer: observer, counter: counter,
                                                    activity: activity, health: link.health, sent: outputLog)
                try sync.addHandler(handler)
                anchor?.setAgentSide(NIOLoopBound(handler, eventLoop: agentChannel.eventLoop))
            }
        }
        opened.whenFailure { accepted.fail($0) }
        opened.and(accepted.futureResult).hop(to: context.eventLoop).assumeIsolated().whenComplete { result in
            switch result {
            case .success((let agent, let inputReceived)):
                self.relayTakenUp(agent: agent, link: link, inputReceived: inputReceived, context: context)
            case .failure(let error):
                let why = (error as? TandemError)?.description ?? "\(error)"
                self.logger.warning("session \(self.attached?.id.rawValue ?? "-"): could not take up channel \(tag) after the agent came back: \(TerminalText.field(why, limit: 200))")
                let text = "\r\ntandem: this channel could not be taken up again after the user's connection dropped (\(TerminalText.escape(why)))\r\n"
                context.writeAndFlush(self.wrapOutboundOut(SSHChannelData(type: .stdErr, data: .byteBuffer(context.channel.allocator.buffer(string: text)))),
                                      promise: nil)
                context.close(promise: nil)
            }
        }
    }

    /// The agent took the relay up: what it did not get of the input goes again, then what was
    /// typed while it was away; the relay goes on.
    private func relayTakenUp(agent: Channel, link: AgentLink, inputReceived: UInt64, context: ChannelHandlerContext) {
        guard case .connecting(let pending) = mode else {
            agent.close(promise: nil)
            return
        }
        guard let again = inputLog?.since(inputReceived) else {
            // The agent is further behind than the input kept: the shell would miss keystrokes.
            agent.close(promise: nil)
            context.close(promise: nil)
            return
        }
        mode = .relaying(agent: agent)
        for chunk in again where !chunk.bytes.isEmpty {
            agent.write(SSHChannelData(type: .channel, data: .byteBuffer(agent.allocator.buffer(bytes: chunk.bytes))), promise: nil)
        }
        for message in pending { relay(message, to: agent, context: context) }
        if inputClosedWhileConnecting { agent.close(mode: .output, promise: nil) }
        // File questions go to the agent's new link from now on.
        if var questions = consent {
            questions.link = link
            consent = questions
        }
        if pty != nil {
            agent.triggerUserOutboundEvent(SSHChannelRequestEvent.WindowChangeRequest(
                terminalCharacterWidth: size.columns, terminalRowHeight: size.rows, terminalPixelWidth: 0, terminalPixelHeight: 0), promise: nil)
        }
        agent.flush()
        context.channel.setAutoRead(agent.isWritable)
    }
}

/// The first exchange on a channel that takes a relay up again: names the relay and what came
/// of its output, reads what came of its input, then steps aside for the relay.
final class ResumeHandshake: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = SSHChannelData
    typealias InboundOut = SSHChannelData
    typealias OutboundIn = SSHChannelData
    typealias OutboundOut = SSHChannelData

    private let tag: Int
    private let received: UInt64
    private let accepted: EventLoopPromise<UInt64>
    private var line: [UInt8] = []
    private var done = false

    init(tag: Int, received: UInt64, accepted: EventLoopPromise<UInt64>) {
        self.tag = tag
        self.received = received
        self.accepted = accepted
    }

    func channelActive(context: ChannelHandlerContext) {
        context.triggerUserOutboundEvent(SSHChannelRequestEvent.SubsystemRequest(subsystem: ResumeLine.subsystem, wantReply: true), promise: nil)
        context.fireChannelActive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is ChannelSuccessEvent where !done:
            let text = ResumeLine.request(channel: tag, received: received).text
            context.writeAndFlush(wrapOutboundOut(SSHChannelData(type: .channel, data: .byteBuffer(context.channel.allocator.buffer(string: text)))),
                                  promise: nil)
        case is ChannelFailureEvent where !done:
            fail(context, "the user's agent does not know this channel any more")
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return context.fireChannelRead(data) }
        let message = unwrapInboundIn(data)
        guard case .byteBuffer(let bytes) = message.data, message.type == .channel else { return }
        line.append(contentsOf: bytes.readableBytesView)
        do {
            guard let (answer, used) = try ResumeLine.parse(line) else { return }
            switch answer {
            case .accepted(let inputReceived):
                done = true
                let rest = Array(line[used...])
                line = []
                // Output that came with the line goes on before this handler steps aside.
                if !rest.isEmpty {
                    context.fireChannelRead(wrapInboundOut(SSHChannelData(type: .channel, data: .byteBuffer(context.channel.allocator.buffer(bytes: rest)))))
                }
                accepted.succeed(inputReceived)
                context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            case .refused(let why):
                fail(context, why)
            case .request:
                fail(context, "the agent answered with a request")
            }
        } catch {
            fail(context, "\(error)")
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !done { fail(context, "the channel closed before the agent answered") }
        context.fireChannelInactive()
    }

    private func fail(_ context: ChannelHandlerContext, _ why: String) {
        guard !done else { return }
        done = true
        accepted.fail(TandemError.io(why))
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension ResumeHandshake: Sendable {}
