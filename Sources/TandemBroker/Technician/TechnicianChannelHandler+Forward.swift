import Logging
import NIOCore
import NIOSSH
import TandemCore
import TandemStore
import TandemText

/// The request that opened a technician's channel, asked again of the replica that owns its session.
enum ForwardableRequest {
    case exec(String)
    case shell
    case subsystem(String)
}

// MARK: - Sessions owned by another replica

extension TechnicianChannelHandler {
    /// Serves the channel here, or, when another replica owns the session (several brokers on one
    /// database), passes it to that replica, which records and enforces it as its own.
    func attach(_ id: SessionID, user: User, kind: String, command: String, scope: Scope? = nil, context: ChannelHandlerContext) {
        passOn(id, user: user, context: context) {
            self.attachHere(id, user: user, kind: kind, command: command, scope: scope, context: context)
        }
    }

    /// Passes the channel to the replica that owns session `id`, if another does; runs `here` otherwise.
    func passOn(_ id: SessionID, user: User, context: ChannelHandlerContext, here: @escaping () -> Void) {
        guard let peering = broker.peering, let request = forwardable else { return here() }
        mode = .connecting(pending: [])
        lookingUpOwner = true
        let behalf = OnBehalf(user: user.name, key: identity.loginKey, from: identity.peer, target: identity.target?.rawValue,
                              via: peering.replicaID)
        let technician = context.channel
        let key = broker.identity.nioPrivateKey
        context.eventLoop.makeFutureWithTask {
            try await peering.forwardedChannel(for: id, behalf: behalf, technician: technician, key: key)
        }.assumeIsolated().whenComplete { result in
            guard case .connecting = self.mode else {
                // The technician left while the owner was found.
                if case .success(let peer?) = result { peer.close(promise: nil) }
                return
            }
            self.lookingUpOwner = false
            self.connectingBytes = 0
            context.channel.setAutoRead(true)
            switch result {
            case .success(nil):
                here()
            case .success(let peer?):
                self.forward(request, to: peer, session: id, context: context)
            case .failure(let error):
                self.logger.warning("could not pass session \(id) on for \(TerminalText.field(user.name, limit: 64)): \(TerminalText.field("\(error)", limit: 300))")
                self.mode = .control
                self.finish(status: 1, stderr: "tandem: \(TerminalText.escape("\(error)"))\n", context: context)
            }
        }
    }

    /// Asks the owner what the technician asked here, then passes everything both ways.
    private func forward(_ request: ForwardableRequest, to peer: Channel, session: SessionID, context: ChannelHandlerContext) {
        guard case .connecting(let pending) = mode else { return }
        if let pty {
            peer.triggerUserOutboundEvent(SSHChannelRequestEvent.PseudoTerminalRequest(
                wantReply: false, term: pty.term, terminalCharacterWidth: size.columns, terminalRowHeight: size.rows,
                terminalPixelWidth: pty.terminalPixelWidth, terminalPixelHeight: pty.terminalPixelHeight, terminalModes: pty.terminalModes),
                promise: nil)
        }
        switch request {
        case .exec(let command): peer.triggerUserOutboundEvent(SSHChannelRequestEvent.ExecRequest(command: command, wantReply: false), promise: nil)
        case .shell: peer.triggerUserOutboundEvent(SSHChannelRequestEvent.ShellRequest(wantReply: false), promise: nil)
        case .subsystem(let name): peer.triggerUserOutboundEvent(SSHChannelRequestEvent.SubsystemRequest(subsystem: name, wantReply: false), promise: nil)
        }
        for message in pending where message.type == .channel { peer.write(message, promise: nil) }
        peer.flush()
        if inputClosedWhileConnecting { peer.close(mode: .output, promise: nil) }
        mode = .forwarding(peer: peer)
        peer.setAutoRead(context.channel.isWritable)
        logger.info("passed a \(request.name) in session \(session) to the replica that owns it")
    }
}

extension ForwardableRequest {
    var name: String {
        switch self {
        case .exec: "command"
        case .shell: "shell"
        case .subsystem: "subsystem"
        }
    }
}
