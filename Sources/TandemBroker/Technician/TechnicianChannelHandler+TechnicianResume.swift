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
        guard let attached, attached.kind == "shell", let secret = resumeSecret, let tag, let activity, let inputLog, let anchor,
              let agentSide = anchor.agentSide, agent.isActive, broker.config.resumeGrace > 0, let user = identity.user else { return false }
        let parked = ParkedShell(session: attached.id, ticket: attached.ticket, user: user.name, loginKey: identity.loginKey, agent: agent,
                                 recorder: recorder, counter: counter, activity: activity, tag: tag, inputLog: inputLog,
                                 outputLog: outputLog, anchor: anchor, watchToken: watchToken.value, tokenHash: Broker.tokenHash(secret),
                                 since: Date())
        // The parked shell owns the relay's record now.
        self.attached = nil
        self.recorder = nil
        agentSide.eventLoop.execute { agentSide.value.technicianLeft() }
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
        guard case .connecting(let pending) = mode, context.channel.isActive, let agentSide = parked.anchor.agentSide else {
            // This channel went too: the shell waits again, for the secret named for next time.
            let again = parked.again(tokenHash: Broker.tokenHash(next), watchToken: parked.watchToken)
            Task { await broker.technicianLost(again, again: true) }
            return
        }
        recorder = parked.recorder
        counter = parked.counter
        activity = parked.activity
        tag = parked.tag
        inputLog = parked.inputLog
        outputLog = parked.outputLog
        anchor = parked.anchor
        attached = (parked.session, parked.ticket, "shell", "")
        resumeSecret = next
        mode = .relaying(agent: parked.agent)
        let technician = context.channel
        parked.anchor.setOwner(technician)
        let watch = watchToken
        let user = parked.user
        let tell = TechnicianChannelHandler.teller(technician)
        let (session, old) = (parked.session, parked.watchToken)
        Task {
            if let old { await broker.forgetChannel(session, token: old) }
            watch.set(await broker.watchChannel(session, user: user, tell: tell))
            await broker.tellUser(session, "The technician is back.")
        }
        // What the technician typed themselves arrived up to here (a pair's typing is not theirs to send again).
        let inputReceived = parked.anchor.ownInput
        // Reached even when the shell's channel on the user's side closed meanwhile: then the
        // technician gets its output, its exit status and the close.
        agentSide.eventLoop.execute {
            agentSide.value.technicianBack(on: technician, received: received, inputReceived: inputReceived)
        }
        for message in pending { relay(message, to: parked.agent, context: context) }
        parked.agent.triggerUserOutboundEvent(SSHChannelRequestEvent.WindowChangeRequest(
            terminalCharacterWidth: size.columns, terminalRowHeight: size.rows, terminalPixelWidth: 0, terminalPixelHeight: 0), promise: nil)
        parked.agent.flush()
    }
}
