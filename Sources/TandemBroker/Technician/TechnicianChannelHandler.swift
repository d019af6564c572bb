import Foundation
import Logging
import NIOCore
import NIOSSH
import Synchronization
import TandemAPI
import TandemAudit
import TandemCore
import TandemStore
import TandemText

/// One channel of a technician's SSH connection: a broker command, or a relay to the agent.
final class TechnicianChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = SSHChannelData
    typealias OutboundIn = SSHChannelData
    typealias OutboundOut = SSHChannelData

    enum Mode {
        case idle
        case control
        case connecting(pending: [SSHChannelData])
        case relaying(agent: Channel)
        /// The agent's connection dropped: the technician's input waits for it to come back.
        case waitingForAgent(held: [SSHChannelData], bytes: Int)
        /// In another technician's shell (`tandem join`), watching or, with `pair`, typing too.
        case joined(JoinedShell, pair: Bool, session: SessionID)
        /// Passed to the replica that owns the session (several brokers on one database).
        case forwarding(peer: Channel)
        case closed
    }

    let broker: Broker
    let identity: ConnectionIdentity
    let logger: Logger
    var mode = Mode.idle
    var pty: SSHChannelRequestEvent.PseudoTerminalRequest?
    var size: (columns: Int, rows: Int) = (80, 24)
    var recorder: AsciicastRecorder?
    var observer: SFTPObserver?
    var attached: (id: SessionID, ticket: Int, kind: String, command: String)?
    var counter = RelayCounter()
    /// The session's idle clock, set once relaying starts.
    var activity: SessionActivity?
    /// This channel's watch on its session (`Broker.watchChannel`), forgotten when it closes.
    let watchToken = WatchToken()
    /// The last write of a control answer (the exit status waits for it).
    let answerTail = AnswerTail()
    /// The technician sent EOF before the agent's channel was up: pass it on once it is.
    var inputClosedWhileConnecting = false
    /// In a `files:ask` session's SFTP channel: whom to ask, and the requests held for an answer.
    var consent: FileQuestions?
    /// The relay's name on the agent's side, and the input sent to the agent, kept to send again
    /// from where the agent stopped receiving if the agent's connection drops.
    var tag: Int?
    var inputLog: ReplayLog?
    /// A shell's output as sent, kept to send again if the technician's own connection drops.
    var outputLog: SentLog?
    /// The client's secret for taking this shell up again after its connection drops.
    var resumeSecret: String?
    /// What of this relay outlives its channels (the agent's side, this side, the owner's typing).
    var anchor: RelayAnchor?
    /// The request that started this channel, as it would be asked again of the session's owner.
    var forwardable: ForwardableRequest?
    /// Input held while the replica that owns the session is found and reached (`passOn`).
    var lookingUpOwner = false
    var connectingBytes = 0
    /// Input kept per relay for a resume (the agent's SSH window and the sockets hold less).
    static let inputReplayBytes = 4 << 20

    init(broker: Broker, identity: ConnectionIdentity, logger: Logger) {
        self.broker = broker
        self.identity = identity
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        context.channel.setOption(ChannelOptions.allowRemoteHalfClosure, value: true).whenComplete { _ in }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is AgentChannelClosed:
            closeRecording()
        case is AgentChannelLost:
            agentLost(context: context)
        case let input as PairInput:
            // A pair's typing: into this channel's shell, as if typed here.
            if case .relaying(let agent) = mode {
                relay(SSHChannelData(type: .channel, data: .byteBuffer(input.bytes)), to: agent, context: context, own: false)
                agent.flush()
                activity?.touch()
            }
        case is SessionOver:
            // A relay waiting for its agent (or taking it up) will not get it now.
            if case .waitingForAgent = mode { context.close(promise: nil) }
            if case .connecting = mode, attached != nil { context.close(promise: nil) }
        case let request as SSHChannelRequestEvent.PseudoTerminalRequest:
            pty = request
            size = (request.terminalCharacterWidth, request.terminalRowHeight)
            reply(request.wantReply, ok: true, context: context)
        case let request as SSHChannelRequestEvent.EnvironmentRequest:
            reply(request.wantReply, ok: false, context: context)
        case let request as SSHChannelRequestEvent.ExecRequest:
            guard case .idle = mode else { return reply(request.wantReply, ok: false, context: context) }
            reply(request.wantReply, ok: true, context: context)
            forwardable = .exec(request.command)
            if let target = identity.target {
                startProxiedExec(request.command, in: target, context: context)
            } else {
                start(request.command, context: context)
            }
        case let request as SSHChannelRequestEvent.ShellRequest:
            guard case .idle = mode else { return reply(request.wantReply, ok: false, context: context) }
            reply(request.wantReply, ok: true, context: context)
            forwardable = .shell
            if let target = identity.target {
                startProxiedShell(in: target, context: context)
            } else {
                mode = .control
                finish(status: 2, stderr: AttachLine.usage + "\n", context: context)
            }
        case let request as SSHChannelRequestEvent.SubsystemRequest:
            if let target = identity.target, request.subsystem == "sftp", case .idle = mode, let user = identity.user {
                reply(request.wantReply, ok: true, context: context)
                forwardable = .subsystem(request.subsystem)
                attach(target, user: user, kind: "sftp", command: "", context: context)
                return
            }
            refuse("subsystem", detail: request.subsystem, context: context)
            reply(request.wantReply, ok: false, context: context)
        case let request as SSHChannelRequestEvent.WindowChangeRequest:
            size = (request.terminalCharacterWidth, request.terminalRowHeight)
            recorder?.resize(columns: request.terminalCharacterWidth, rows: request.terminalRowHeight)
            if case .relaying(let agent) = mode { agent.triggerUserOutboundEvent(request, promise: nil) }
            if case .forwarding(let peer) = mode { peer.triggerUserOutboundEvent(request, promise: nil) }
        case let request as SSHChannelRequestEvent.SignalRequest:
            if case .relaying(let agent) = mode { agent.triggerUserOutboundEvent(request, promise: nil) }
            if case .forwarding(let peer) = mode { peer.triggerUserOutboundEvent(request, promise: nil) }
        case ChannelEvent.inputClosed:
            switch mode {
            case .relaying(let agent): agent.close(mode: .output, promise: nil)
            case .forwarding(let peer):
                peer.flush()
                peer.close(mode: .output, promise: nil)
            case .connecting, .waitingForAgent: inputClosedWhileConnecting = true
            default: break
            }
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let message = unwrapInboundIn(data)
        switch mode {
        case .relaying(let agent):
            relay(message, to: agent, context: context)
        case .forwarding(let peer):
            // Extended data from a client is nobody's input (see `relay`): only the channel's stream goes.
            if message.type == .channel { peer.write(message, promise: nil) }
        case .joined(let joined, let pair, _):
            joinedInput(message, joined: joined, pair: pair, context: context)
        case .connecting(var pending):
            pending.append(message)
            mode = .connecting(pending: pending)
            // Passing the channel to another replica may take a while: hold no more than a relay would.
            if lookingUpOwner, case .byteBuffer(let b) = message.data {
                connectingBytes += b.readableBytes
                if connectingBytes > Self.heldInputLimit { context.channel.setAutoRead(false) }
            }
        case .waitingForAgent(var held, var bytes):
            held.append(message)
            if case .byteBuffer(let b) = message.data { bytes += b.readableBytes }
            mode = .waitingForAgent(held: held, bytes: bytes)
            if bytes > Self.heldInputLimit { context.channel.setAutoRead(false) }
        default:
            break
        }
    }

    /// The technician's bytes on their way to the agent: through the file questions first, if any.
    func relay(_ message: SSHChannelData, to agent: Channel, context: ChannelHandlerContext, own: Bool = true) {
        // A client sends its input as channel data; extended data (stderr) from one is not input
        // anyone asked for, and would pass the file questions and the resume counts unseen.
        guard message.type == .channel else { return }
        if own, case .byteBuffer(let bytes) = message.data { anchor?.typedByOwner(bytes.readableBytes) }
        if consent != nil, case .byteBuffer(let bytes) = message.data {
            return ask(about: bytes, agent: agent, context: context)
        }
        pass(message, to: agent, context: context)
    }

    /// Sends to the agent, counting, recording and observing what goes.
    func pass(_ message: SSHChannelData, to agent: Channel, context: ChannelHandlerContext) {
        agent.write(message, promise: nil)
        guard case .byteBuffer(let bytes) = message.data else { return }
        if inputLog != nil { bytes.withUnsafeReadableBytes { inputLog?.append($0) } }
        counter.toAgent(bytes.readableBytes)
        if let recorder { recorder.input(bytes) }
        if let observer, case .close(let why) = bytes.withUnsafeReadableBytes({ observer.fromTechnician($0) }) {
            logger.warning("closed a file transfer in session \(attached?.id.rawValue ?? "-"): \(TerminalText.field(why, limit: 200))")
            agent.close(promise: nil)
            context.close(promise: nil)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // The agent's replies: a refusal made here may go only between two of them.
        if consent != nil {
            let message = unwrapOutboundIn(data)
            if message.type == .channel, case .byteBuffer(let bytes) = message.data, var questions = consent {
                for (id, handle) in questions.replies.passed(bytes) { questions.gate.handleReplied(id: id, handle: handle) }
                consent = questions
            }
            context.write(data, promise: promise)
            sendRefusals(context: context)
            return
        }
        context.write(data, promise: promise)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if case .forwarding(let peer) = mode { peer.flush() }
        if case .relaying(let agent) = mode {
            agent.flush()
            // Once per batch of reads: the idle limit counts in seconds.
            activity?.touch()
        }
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if case .relaying(let agent) = mode {
            if !context.channel.isWritable {
                agent.setAutoRead(false)
            } else if let agentSide = anchor?.agentSide {
                // Reading again is the agent side's call: a recording that fell behind may still hold it.
                agentSide.eventLoop.execute { agentSide.value.readIfNothingWaits() }
            } else {
                agent.setAutoRead(true)
            }
        }
        if case .forwarding(let peer) = mode { peer.setAutoRead(context.channel.isWritable) }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        // A shell whose technician can come back waits for them, running.
        if case .relaying(let agent) = mode, park(agent) {
            mode = .closed
            context.fireChannelInactive()
            return
        }
        if case .relaying(let agent) = mode { agent.close(promise: nil) }
        if case .forwarding(let peer) = mode { peer.close(promise: nil) }
        leaveJoined()
        mode = .closed
        closeRecording()
        context.fireChannelInactive()
    }

    private func reply(_ wanted: Bool, ok: Bool, context: ChannelHandlerContext) {
        guard wanted else { return }
        context.triggerUserOutboundEvent(ok ? ChannelSuccessEvent() : ChannelFailureEvent(), promise: nil)
    }
}

@available(*, unavailable)
extension TechnicianChannelHandler: Sendable {}

// MARK: - Commands

extension TechnicianChannelHandler {
    private func start(_ line: String, context: ChannelHandlerContext) {
        guard let user = identity.user else { return finish(status: 1, stderr: "not logged in\n", context: context) }
        let request: ControlRequest
        do {
            request = try AttachLine.request(line)
        } catch {
            mode = .control
            // Answered in the asker's language: JSON to the CLI, words to a stock ssh client.
            let failure = ServiceFailure(error)
            let text = line.first == "{" ? ControlAdapter.line(failure.view) : "tandem: \(TerminalText.escape(failure.view.error.message))\n"
            return finish(status: failure.exitStatus, stderr: text, context: context)
        }
        switch request {
        case .shellResume(let id, let token, let next, let received):
            guard pty != nil else {
                mode = .control
                return finish(status: 2, stderr: "tandem: taking a shell up needs a terminal\n", context: context)
            }
            // The shell waits on the replica that holds the session, whichever one the client reached.
            passOn(id, user: user, context: context) {
                self.takeShellUp(id, token: token, next: next, received: received, user: user, context: context)
            }
        case .shell(let id, let resume):
            resumeSecret = resume
            guard pty != nil else {
                mode = .control
                return finish(status: 2, stderr: "tandem: 'shell' needs a terminal; use 'tandem shell SESSION' from a terminal or 'tandem exec'\n",
                              context: context)
            }
            attach(id, user: user, kind: "shell", command: "", context: context)
        case .exec(let id, let remote):
            attach(id, user: user, kind: "exec", command: remote, context: context)
        case .sftp(let id):
            attach(id, user: user, kind: "sftp", command: "", context: context)
        case .join(let id, let pair):
            guard pty != nil else {
                mode = .control
                return finish(status: 2, stderr: "tandem: 'join' needs a terminal; run 'tandem join \(id)' from a terminal\n", context: context)
            }
            passOn(id, user: user, context: context) { self.join(id, pair: pair, user: user, context: context) }
        case .sessionEnd(let id), .auditRecordings(let id), .auditRecording(let id, _):
            // Ended where the session lives; its recordings are on that replica's disk.
            passOn(id, user: user, context: context) { self.runControl(request, user: user, context: context) }
        default:
            runControl(request, user: user, context: context)
        }
    }

    /// A broker command answered here (tickets, sessions, audit, tokens).
    private func runControl(_ request: ControlRequest, user: User, context: ChannelHandlerContext) {
        mode = .control
        let channel = context.channel
        let tail = answerTail
        let adapter = ControlAdapter(services: BrokerServices(broker: broker), user: user, emit: { text, stderr in
            var buffer = channel.allocator.buffer(capacity: text.utf8.count)
            buffer.writeString(text)
            tail.wrote(channel.writeAndFlush(SSHChannelData(type: stderr ? .stdErr : .channel, data: .byteBuffer(buffer))))
        }, emitData: { data in
            tail.wrote(channel.writeAndFlush(SSHChannelData(type: .channel, data: .byteBuffer(channel.allocator.buffer(bytes: data)))))
        })
        context.eventLoop.makeFutureWithTask { await adapter.run(request) }.assumeIsolated().whenSuccess { status in
            self.finish(status: status, stderr: nil, context: context)
        }
    }

    /// A stock client's command (`ssh s-… CMD`, rsync's server side) in the session it named.
    private func startProxiedExec(_ command: String, in id: SessionID, context: ChannelHandlerContext) {
        guard let user = identity.user else { return finish(status: 1, stderr: "not logged in\n", context: context) }
        guard command.utf8.count <= ControlRequest.maxCommandBytes else {
            mode = .control
            return finish(status: 2, stderr: "tandem: \(ControlRequest.commandTooLong(command.utf8.count))\n", context: context)
        }
        // rsync moves files: the user's "files" answer decides it, not "shell".
        let scope: Scope = RsyncServerLine.isTransfer(command) ? .files : .shell
        attach(id, user: user, kind: "exec", command: command, scope: scope, context: context)
    }

    /// A stock client's login shell (`ssh s-…`) in the session it named; it needs a terminal.
    private func startProxiedShell(in id: SessionID, context: ChannelHandlerContext) {
        guard let user = identity.user else { return finish(status: 1, stderr: "not logged in\n", context: context) }
        guard pty != nil else {
            mode = .control
            return finish(status: 2, stderr: "tandem: a shell needs a terminal: use 'ssh -t \(id)', or give a command ('ssh \(id) uname -a')\n",
                          context: context)
        }
        attach(id, user: user, kind: "shell", command: "", context: context)
    }

    /// Sends an optional message, the exit status and closes: the end of a broker command.
    func finish(status: Int32, stderr: String?, context: ChannelHandlerContext) {
        var stderrWritten: EventLoopFuture<Void>?
        if let stderr {
            var buffer = context.channel.allocator.buffer(capacity: stderr.utf8.count)
            buffer.writeString(stderr)
            let written = context.eventLoop.makePromise(of: Void.self)
            context.write(wrapOutboundOut(SSHChannelData(type: .stdErr, data: .byteBuffer(buffer))), promise: written)
            stderrWritten = written.futureResult
        }
        // The answer may still wait for the client's SSH window (an export, a recording): a close
        // now would drop what is queued. The status and the close follow the last byte out.
        let channel = context.channel
        let last = stderrWritten ?? answerTail.last
        context.flush()
        let done: @Sendable () -> Void = {
            channel.triggerUserOutboundEvent(SSHChannelRequestEvent.ExitStatus(exitStatus: Int(status)), promise: nil)
            channel.close(promise: nil)
        }
        guard let last else { return done() }
        // A client that never opens its window must not hold the answer forever.
        let deadline = context.eventLoop.scheduleTask(in: Self.answerDrainLimit) { channel.close(promise: nil) }
        last.whenComplete { _ in
            deadline.cancel()
            done()
        }
    }

    /// How long a control answer may wait for the client to take it (an export over a slow link).
    static let answerDrainLimit: TimeAmount = .minutes(15)

    func refuse(_ what: String, detail: String, context: ChannelHandlerContext) {
        let who = identity.user?.name ?? "unknown"
        guard identity.recordsRefusal(.channelRefused, logger: logger) else { return }
        logger.notice("refused \(what) '\(TerminalText.field(detail, limit: 64))' for \(TerminalText.field(who, limit: 64))")
        broker.journal.submit(ChannelRefused(request: what, detail: String(detail.prefix(256))), ticket: attached?.ticket, session: attached?.id, actor: who)
    }
}

/// The last write of a control answer: the exit status and the close wait until it is out.
final class AnswerTail: Sendable {
    private let future = Mutex<EventLoopFuture<Void>?>(nil)
    func wrote(_ write: EventLoopFuture<Void>) { future.withLock { $0 = write } }
    var last: EventLoopFuture<Void>? { future.withLock { $0 } }
}

/// The token of a channel's watch on its session, set from the attach task and read at close.
final class WatchToken: Sendable {
    private let token = Mutex<Int?>(nil)
    func set(_ value: Int?) { token.withLock { $0 = value } }
    var value: Int? { token.withLock { $0 } }
}
