import Foundation
import NIOCore
import NIOSSH
import TandemAudit
import TandemCore
import TandemStore
import TandemText

// MARK: - Attaching to the agent

extension TechnicianChannelHandler {
    /// Opens the matching channel to the agent and starts relaying once it is up.
    /// `scope` is what the user must have granted: by default `files` for SFTP and `shell` for the rest.
    func attachHere(_ id: SessionID, user: User, kind: String, command: String, scope: Scope? = nil, context: ChannelHandlerContext) {
        let scope = scope ?? (kind == "sftp" ? .filesAsk : .shell)
        let logger = self.logger
        // Input that came while the owner was looked up waits with the rest.
        if case .connecting = mode {} else { mode = .connecting(pending: []) }
        let broker = self.broker
        let technician = context.channel
        let counter = self.counter
        let pty = self.pty
        let size = self.size
        let recordingsDir = broker.config.recordingsDirectory
        let partsDir = broker.config.partsDirectory
        let role = user.role
        let config = broker.config
        let failed: @Sendable (RecordingFailure) -> Void = { why in Task { await broker.recordingFailed(id, why) } }
        let journal = broker.journal
        let watch = self.watchToken
        let counted = WatchToken()
        // Only a shell whose client can come back for it keeps its output for that.
        let outputLog = kind == "shell" && resumeSecret != nil ? SentLog() : nil
        self.outputLog = outputLog
        let anchor = RelayAnchor(owner: context.channel)
        self.anchor = anchor
        context.eventLoop.makeFutureWithTask { () async throws -> (Broker.Attachment, AsciicastRecorder?, SFTPObserver?) in
            let attachment = try await broker.attach(id, user: user.name, role: role, scope: scope)
            let (ticket, budget, activity) = (attachment.ticket, attachment.budget, attachment.activity)
            var recorder: AsciicastRecorder?
            if kind != "sftp" {
                // Shells and single commands alike: what the user's machine answered is evidence.
                let name = "\(id.rawValue)-\(AsciicastRecorder.uniqueStamp())"
                // A shell can be watched live (auditors and admins, in the console) while it runs.
                let feed = kind == "shell" ? LiveFeed(columns: size.columns, rows: size.rows) : nil
                do {
                    recorder = try AsciicastRecorder(directory: recordingsDir, parts: partsDir, name: name, columns: size.columns, rows: size.rows,
                                                     term: pty?.term ?? "xterm",
                                                     title: "Tandem \(id) ticket #\(ticket)" + (kind == "exec" ? " exec" : ""),
                                                     budget: budget, live: feed, onFailure: failed)
                    if let feed { broker.liveFeeds.add(id.rawValue, feed) }
                } catch let why as RecordingFailure {
                    await broker.recordingFailed(id, why)
                    // Fail closed unless the operator chose to go on unrecorded.
                    if config.onRecordingFailure == .endSession { throw TandemError.io(why.endReason) }
                }
            }
            let token = await broker.watchChannel(id, user: user.name, tell: Self.teller(technician))
            watch.set(token)
            let receipt: EventReceipt?
            if kind == "shell" {
                receipt = await broker.openChannel(id, ShellStarted(size: "\(size.columns)x\(size.rows)"), actor: user.name)
            } else if kind == "sftp" {
                receipt = await broker.openChannel(id, SFTPStarted(), actor: user.name)
            } else {
                // Whole: the control parser refuses a command longer than it accepts rather than cutting it.
                receipt = await broker.openChannel(id, Exec(command: command), actor: user.name)
            }
            guard let receipt else {
                _ = await recorder?.finishOffThread()
                throw TandemError.invalidArgument("session \(id) is not active: it ended")
            }
            // From here the channel's end must reach the record before the session's end and the broker's stop.
            counted.set(ticket)
            // Nothing starts on the user's machine unless its start is on record.
            guard await receipt.stored() else {
                _ = await recorder?.finishOffThread()
                throw TandemError.io("the broker could not record this; nothing was run")
            }
            // File events go straight into the journal from the event loop, in the order they happen.
            let observer: SFTPObserver? = kind == "sftp" ? SFTPObserver(
                captureDirectory: config.captureFiles ? config.filesDirectory : nil, captureLimit: config.captureLimit,
                onCaptureFailure: failed,
                record: { payload in
                    if let moved = payload as? FileTransfer, moved.sha256 != nil { activity.fileMoved(upload: moved.direction == "upload") }
                    journal.submit(payload, ticket: ticket, session: id, actor: user.name)
                }) : nil
            return (attachment, recorder, observer)
        }.flatMap { (attachment, recorder, observer) in
            attachment.agent.openSessionChannel { agentChannel in
                agentChannel.eventLoop.makeCompletedFuture {
                    let handler = AgentSideRelayHandler(technician: technician, recorder: recorder, observer: observer, counter: counter,
                                                        activity: attachment.activity, health: attachment.agent.health, sent: outputLog)
                    try agentChannel.pipeline.syncOperations.addHandler(handler)
                    anchor.setAgentSide(NIOLoopBound(handler, eventLoop: agentChannel.eventLoop))
                }
            }.map { ($0, attachment, recorder, observer) }
        }.assumeIsolated().whenComplete { result in
            switch result {
            case .success(let (agentChannel, attachment, recorder, observer)):
                self.recorder = recorder
                self.observer = observer
                self.activity = attachment.activity
                self.attached = (id, attachment.ticket, kind, command)
                self.tag = attachment.tag
                self.inputLog = ReplayLog(capacity: Self.inputReplayBytes)
                if kind == "sftp", attachment.asksForFiles {
                    self.consent = FileQuestions(link: attachment.agent, memory: attachment.fileConsent, endUser: attachment.endUser,
                                                 technician: user.name)
                }
                self.startRelay(to: agentChannel, kind: kind, command: command, context: context)
                if kind == "shell", let feed = recorder?.live {
                    let port = ShellPort(owner: anchor, recorder: recorder, feed: feed, activity: attachment.activity)
                    Task { await broker.shellOpened(id, port) }
                }
            case .failure(let error):
                // Its start is on record (`counted` holds its ticket): so is its end, with nothing moved.
                if let ticket = counted.value { Task { await broker.abandonChannel(id, ticket: ticket, kind: kind, actor: user.name) } }
                self.mode = .control
                let text = (error as? TandemError)?.description ?? "could not reach the agent (\(error))"
                logger.notice("refused \(kind) in session \(id) for \(TerminalText.field(user.name, limit: 64)): \(TerminalText.field(text, limit: 300))")
                self.finish(status: 1, stderr: "tandem: \(TerminalText.escape(text))\n", context: context)
            }
        }
    }

    private func startRelay(to agent: Channel, kind: String, command: String, context: ChannelHandlerContext) {
        guard case .connecting(let pending) = mode else {
            // The technician left while the agent's channel opened: its start is on record, so its end is too.
            agent.close(promise: nil)
            closeRecording()
            return
        }
        mode = .relaying(agent: agent)
        if let tag {
            agent.triggerUserOutboundEvent(SSHChannelRequestEvent.EnvironmentRequest(wantReply: false, name: "TANDEM_CHANNEL", value: String(tag)),
                                           promise: nil)
        }
        if let pty {
            var request = pty
            request.wantReply = true
            agent.triggerUserOutboundEvent(request, promise: nil)
        }
        if kind == "shell" {
            agent.triggerUserOutboundEvent(SSHChannelRequestEvent.ShellRequest(wantReply: true), promise: nil)
        } else if kind == "sftp" {
            agent.triggerUserOutboundEvent(SSHChannelRequestEvent.SubsystemRequest(subsystem: "sftp", wantReply: true), promise: nil)
        } else {
            agent.triggerUserOutboundEvent(SSHChannelRequestEvent.ExecRequest(command: command, wantReply: true), promise: nil)
        }
        for message in pending { relay(message, to: agent, context: context) }
        agent.flush()
        if inputClosedWhileConnecting { agent.close(mode: .output, promise: nil) }
    }

    /// What a relay's channel shows when its session tells it something.
    static func teller(_ channel: Channel) -> @Sendable (_ text: String, _ notice: Broker.WatchNotice) -> Void {
        { reason, notice in
            // The channel hears why before the agent's side closes it.
            channel.eventLoop.execute {
                var text = channel.allocator.buffer(capacity: 64)
                switch notice {
                case .closed: text.writeString("\r\ntandem: \(TerminalText.escape(reason)); this channel is closed\r\n")
                case .ended: text.writeString("\r\ntandem: the session ended: \(TerminalText.escape(reason))\r\n")
                case .warning: text.writeString("\r\ntandem: \(TerminalText.escape(reason))\r\n")
                }
                channel.writeAndFlush(SSHChannelData(type: .stdErr, data: .byteBuffer(text)), promise: nil)
                if case .closed = notice { channel.close(promise: nil) }
                // A relay waiting for its agent will not get it now: it closes once told why.
                if case .ended = notice { channel.pipeline.fireUserInboundEventTriggered(SessionOver()) }
            }
        }
    }

    /// Puts the channel's end on record: byte counts, exit status, recording.
    func closeRecording() {
        observer?.finish()
        observer = nil
        guard let attached else { return }
        self.attached = nil
        let recorder = self.recorder
        self.recorder = nil
        let counter = self.counter
        let broker = self.broker
        let actor = identity.user?.name ?? "unknown"
        let token = watchToken.value
        let (id, ticket, kind) = (attached.id, attached.ticket, attached.kind)
        Task {
            await TechnicianChannelHandler.recordEnd(broker: broker, session: id, ticket: ticket, kind: kind, recorder: recorder,
                                                     counter: counter, actor: actor, watchToken: token)
        }
    }

    /// A relay's end on record: its watch forgotten, its recording finished and named, and
    /// `channel_closed` with byte counts and exit status.
    static func recordEnd(broker: Broker, session: SessionID, ticket: Int, kind: String, recorder: AsciicastRecorder?,
                          counter: RelayCounter, actor: String, watchToken: Int?) async {
        if let watchToken { await broker.forgetChannel(session, token: watchToken) }
        // Hashing and closing the file is disk work: off the event loop, and before the event that names it.
        let recording = await recorder?.finishOffThread()
        if let feed = recorder?.live {
            broker.liveFeeds.remove(session.rawValue, feed)
            await broker.shellClosed(session, feed: feed)
        }
        let totals = counter.totals
        let closed = ChannelClosed(channel: kind, bytesToAgent: totals.toAgent, bytesFromAgent: totals.fromAgent,
                                   exitStatus: counter.exitStatus, recordingSha256: recording?.sha256,
                                   recordingBytes: recording?.bytes, recordingIncomplete: recording?.failure?.endReason)
        await broker.closeChannel(session, ticket: ticket, closed, actor: actor)
    }
}
