import Foundation
import NIOCore
import NIOSSH
import TandemCore
import TandemStore
import TandemText

// MARK: - The technician's connection drops under a shell, and comes back

extension TechnicianChannelHandler {
    /// This channel went with its connection while relaying a shell the client can take up again:
    /// the shell keeps running and the broker waits for the client. False when it cannot wait.
    func park(_ agent: Channel) -> Bool {
        guard let attached, attached.kind == "shell", let secret = resumeSecret, let tag, let activity, let inputLog,
              agent.isActive, broker.config.resumeGrace > 0, let user = identity.user else { return false }
        let parked = ParkedShell(session: attached.id, ticket: attached.ticket, user: user.name, loginKey: identity.loginKey, agent: agent,
                                 recorder: recorder, counter: counter, activity: activity, tag: tag, inputLog: inputLog,
                                 outputLog: outputLog, watchToken: watchToken.value, tokenHash: Broker.tokenHash(secret), since: Date())
        // The parked shell owns the relay's record now.
        self.attached = nil
        self.recorder = nil
        agent.eventLoop.execute {
            (try? agent.pipeline.syncOperations.handler(type: AgentSideRelayHandler.self))?.technicianLeft()
        }
        let broker = self.broker
        Task { await broker.technicianLost(parked) }
        return true
    }

    /// `{"op":"shell.resume",…}`: the client whose connection dropped takes its shell up on this channel.
    func takeShellUp(_ id: SessionID, token: String, next: String, received: UInt64, user: User, context: ChannelHandlerContext) {
        mode = .connecting(pending: [])
        let broker = self.broker
        let key = identity.loginKey
        let source = identity.peer
        context.eventLoop.makeFutureWithTask { () async throws -> ParkedShell in
            try await broker.resumeTechnician(id, token: token, user: user.name, loginKey: key, source: source).get()
        }.assumeIsolated().whenComplete { result in
            switch result {
            case .success(let parked):
                self.adopt(parked, next: next, received: received, context: context)
            case .failure(let error):
                let text = (error as? TandemError)?.description ?? "\(error)"
                self.mode = .control
                self.finish(status: 1, stderr: "tandem: could not take the shell up again: \(TerminalText.escape(text))\n", context: context)
            }
        }
    }

    /// Becomes the parked shell's relay: the agent's side sends this channel what the broker has of
    /// the input and the output the client lacks, then the shell goes on here.
    private func adopt(_ parked: ParkedShell, next: String, received: UInt64, context: ChannelHandlerContext) {
        let broker = self.broker
        guard case .connecting(let pending) = mode, context.channel.isActive else {
            Task { await parked.end(broker: broker) }
            return
        }
        recorder = parked.recorder
        counter = parked.counter
        activity = parked.activity
        tag = parked.tag
        inputLog = parked.inputLog
        outputLog = parked.outputLog
        attached = (parked.session, parked.ticket, "shell", "")
        resumeSecret = next
        mode = .relaying(agent: parked.agent)
        let technician = context.channel
        let watch = watchToken
        let user = parked.user
        let tell = TechnicianChannelHandler.teller(technician)
        let (session, old) = (parked.session, parked.watchToken)
        Task {
            if let old { await broker.forgetChannel(session, token: old) }
            watch.set(await broker.watchChannel(session, user: user, tell: tell))
        }
        // A joined pair types through this channel from now on.
        if let feed = recorder?.live {
            let port = ShellPort(owner: technician, recorder: recorder, feed: feed, activity: parked.activity)
            Task { await broker.shellOpened(session, port) }
        }
        let inputReceived = UInt64(counter.totals.toAgent)
        let agent = parked.agent
        agent.eventLoop.execute {
            (try? agent.pipeline.syncOperations.handler(type: AgentSideRelayHandler.self))?
                .technicianBack(on: technician, received: received, inputReceived: inputReceived)
        }
        for message in pending { relay(message, to: agent, context: context) }
        agent.triggerUserOutboundEvent(SSHChannelRequestEvent.WindowChangeRequest(
            terminalCharacterWidth: size.columns, terminalRowHeight: size.rows, terminalPixelWidth: 0, terminalPixelHeight: 0), promise: nil)
        agent.flush()
    }
}
