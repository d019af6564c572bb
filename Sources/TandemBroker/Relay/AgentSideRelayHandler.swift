import NIOCore
import NIOSSH
import Synchronization
import TandemCore

/// The agent's half of a relayed channel: what the agent sends goes to the technician.
final class AgentSideRelayHandler: ChannelDuplexHandler {
    typealias InboundIn = SSHChannelData
    typealias OutboundIn = SSHChannelData
    typealias OutboundOut = SSHChannelData

    private var technician: Channel
    private let recorder: AsciicastRecorder?
    private let observer: SFTPObserver?
    private let counter: RelayCounter
    private var eofSent: EventLoopFuture<Void>?

    private let activity: SessionActivity
    private let health: LinkHealth

    /// A shell's output as sent to the technician, kept to send again if their connection drops.
    private let sent: SentLog?
    /// The technician's connection dropped: output is kept, not sent, until they take the shell up.
    private var technicianAway = false
    private var keptWhileAway = 0
    /// The agent's side ended while the technician was away: told once they are back.
    private var endedWhileAway = false
    /// The agent's side is closed (the shell exited, or its connection went).
    private var agentEnded = false
    private var ownChannel: Channel?
    /// Stopped reading until the recording catches up.
    private var waitingForRecorder = false

    /// Most output kept for a technician who is away before the shell's output is paused.
    static let awayLimit = 1 << 20

    init(technician: Channel, recorder: AsciicastRecorder?, observer: SFTPObserver?, counter: RelayCounter, activity: SessionActivity,
         health: LinkHealth, sent: SentLog? = nil) {
        self.sent = sent
        self.health = health
        self.activity = activity
        self.technician = technician
        self.recorder = recorder
        self.observer = observer
        self.counter = counter
    }

    func handlerAdded(context: ChannelHandlerContext) {
        ownChannel = context.channel
        context.channel.setOption(ChannelOptions.allowRemoteHalfClosure, value: true).whenComplete { _ in }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let message = unwrapInboundIn(data)
        if !technicianAway { technician.write(message, promise: nil) }
        if case .byteBuffer(let bytes) = message.data {
            // Only the shell's stream is counted for a resume: the broker's own notices go on stderr.
            if let sent, message.type == .channel { sent.append(bytes) }
            if technicianAway {
                keptWhileAway += bytes.readableBytes
                if keptWhileAway > Self.awayLimit { context.channel.setAutoRead(false) }
            }
            counter.fromAgent(bytes.readableBytes)
            if let recorder, !recorder.output(bytes) {
                // The recording fell behind: no more is read until the writer has caught up.
                context.channel.setAutoRead(false)
                if !waitingForRecorder {
                    waitingForRecorder = true
                    let me = NIOLoopBound(self, eventLoop: context.eventLoop)
                    let loop = context.eventLoop
                    recorder.whenCaughtUp { loop.execute { me.value.recorderCaughtUp() } }
                }
            }
            if let observer, case .close = bytes.withUnsafeReadableBytes({ observer.fromAgent($0) }) {
                context.close(promise: nil)
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if !technicianAway { technician.flush() }
        activity.touch()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if !technicianAway { technician.setAutoRead(context.channel.isWritable) }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case let status as SSHChannelRequestEvent.ExitStatus:
            counter.exitStatus = status.exitStatus
            if !technicianAway { technician.triggerUserOutboundEvent(status, promise: nil) }
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
            if !technicianAway { eofSent = sendEOF() }
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        agentEnded = true
        if technicianAway {
            // Kept for the technician's return; the parked shell records the end if they do not.
            endedWhileAway = true
            context.fireChannelInactive()
            return
        }
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

    private func recorderCaughtUp() {
        waitingForRecorder = false
        readIfNothingWaits()
    }

    /// Reads again, unless a reason to wait still holds: a recording that fell behind, a technician
    /// who reads slowly, or one who is away with as much kept as allowed. Each reason's end calls this.
    func readIfNothingWaits() {
        guard let own = ownChannel, !agentEnded, !waitingForRecorder else { return }
        if technicianAway ? keptWhileAway <= Self.awayLimit : technician.isWritable { own.setAutoRead(true) }
    }

    /// The technician's connection dropped: output is kept for them from here.
    func technicianLeft() {
        technicianAway = true
        keptWhileAway = 0
    }

    /// The technician took the shell up on `channel`, having `received` bytes of its output: they
    /// hear what the broker has of their input, then the output they lack, then the shell goes on.
    func technicianBack(on channel: Channel, received: UInt64, inputReceived: UInt64) {
        guard let again = sent?.since(received) else {
            let line = ResumeLine.refused("the shell's output from byte \(received) on is no longer kept")
            channel.writeAndFlush(SSHChannelData(type: .channel, data: .byteBuffer(channel.allocator.buffer(string: line.text))), promise: nil)
            channel.close(promise: nil)
            ownChannel?.close(promise: nil)
            return
        }
        technician = channel
        technicianAway = false
        let accepted = ResumeLine.accepted(received: inputReceived).text
        channel.write(SSHChannelData(type: .channel, data: .byteBuffer(channel.allocator.buffer(string: accepted))), promise: nil)
        for chunk in again where !chunk.bytes.isEmpty {
            channel.write(SSHChannelData(type: .channel, data: .byteBuffer(channel.allocator.buffer(bytes: chunk.bytes))), promise: nil)
        }
        channel.flush()
        if endedWhileAway || agentEnded {
            if let status = counter.exitStatus { channel.triggerUserOutboundEvent(SSHChannelRequestEvent.ExitStatus(exitStatus: status), promise: nil) }
            sendEOF().whenComplete { _ in channel.close(promise: nil) }
            channel.pipeline.fireUserInboundEventTriggered(AgentChannelClosed())
        } else {
            readIfNothingWaits()
        }
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

/// A shell's output as sent to its technician, by offset since the shell began: shared by every
/// agent-side handler the relay has (one per agent connection), so offsets run on across them.
final class SentLog: Sendable {
    private let log = Mutex(ReplayLog(capacity: SentLog.capacity))
    /// The technician's SSH window and the sockets hold less than this at a drop.
    static let capacity = 4 << 20

    func append(_ bytes: ByteBuffer) {
        bytes.withUnsafeReadableBytes { raw in log.withLock { $0.append(raw) } }
    }

    func since(_ offset: UInt64) -> [ReplayLog.Chunk]? { log.withLock { $0.since(offset) } }
}

/// Told to the technician's channel when the agent's side of a relay is gone.
struct AgentChannelClosed: Sendable {}
