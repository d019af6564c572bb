import Foundation
import NIOCore
import NIOSSH
import TandemCore
import TandemStore
import TandemText

/// A pair's typing, handed to the shell owner's channel to relay.
struct PairInput: Sendable {
    let bytes: ByteBuffer
}

// MARK: - Joining another technician's shell

extension TechnicianChannelHandler {
    /// Keys that leave a joined shell: Ctrl-] always, and Ctrl-C for a watcher (a pair's Ctrl-C
    /// is the shell's).
    static let leaveKey: UInt8 = 0x1d
    static let interruptKey: UInt8 = 0x03

    /// `tandem join SESSION`: once the user agreed, the shell's screen so far, then its output as
    /// it comes; a pair's typing goes to the shell too.
    func join(_ id: SessionID, pair: Bool, user: User, context: ChannelHandlerContext) {
        mode = .control
        let broker = self.broker
        let channel = context.channel
        let logger = self.logger
        let told: @Sendable (String) -> Void = { text in
            let line = "tandem: \(TerminalText.escape(text))\r\n"
            channel.writeAndFlush(SSHChannelData(type: .stdErr, data: .byteBuffer(channel.allocator.buffer(string: line))), promise: nil)
        }
        let watch = self.watchToken
        context.eventLoop.makeFutureWithTask { () async throws -> JoinedShell in
            // Only a session on a ticket the caller may read: anyone else is told it does not exist.
            _ = try await Policy(broker: broker, caller: Caller(user: user, via: .sshKey)).visibleSession(id, operation: "join", content: false)
            let joined = try await broker.join(id, user: user.name, role: user.role, pair: pair, told: told)
            // Told why, and closed, when the session ends; told who comes and goes meanwhile.
            let token = await broker.watchChannel(id, user: user.name) { reason, notice in
                switch notice {
                case .warning: told(reason)
                case .ended, .closed:
                    told(notice == .ended ? "the session ended: \(reason)" : "\(reason); you are out of the session")
                    channel.close(promise: nil)
                }
            }
            watch.set(token)
            return joined
        }.assumeIsolated().whenComplete { result in
            switch result {
            case .success(let joined):
                guard case .control = self.mode, context.channel.isActive else {
                    joined.watch.cancel()
                    let token = watch.value
                    Task {
                        if let token { await broker.forgetChannel(id, token: token) }
                        await broker.leave(id, token: joined.token)
                    }
                    return
                }
                self.mode = .joined(joined, pair: pair, session: id)
                let keys = pair ? "you may type; Ctrl-] leaves" : "read-only; Ctrl-] or Ctrl-C leaves"
                told("\(joined.asked ? "the user agreed" : "the user is told you are watching"): you are in session \(id) (\(keys))")
                self.pump(joined, context: context)
            case .failure(let error):
                let text = (error as? TandemError)?.description ?? "could not join (\(error))"
                logger.notice("join of session \(id) by \(TerminalText.field(user.name, limit: 64)) refused: \(TerminalText.field(text, limit: 300))")
                self.finish(status: 1, stderr: "tandem: \(TerminalText.escape(text))\n", context: context)
            }
        }
    }

    /// Sends the shell's screen and output to the person who joined, as fast as they take it (a
    /// watcher too far behind is let go by the feed), then ends their channel with the shell.
    private func pump(_ joined: JoinedShell, context: ChannelHandlerContext) {
        let channel = context.channel
        let watch = joined.watch
        Task {
            func send(_ text: String) async -> Bool {
                guard !text.isEmpty else { return true }
                let data = SSHChannelData(type: .channel, data: .byteBuffer(channel.allocator.buffer(string: text)))
                return (try? await channel.writeAndFlush(data).get()) != nil
            }
            guard await send(joined.watch.start.recent) else { return watch.cancel() }
            for await frame in watch.frames where frame.kind == "o" {
                guard await send(frame.text) else { return watch.cancel() }
                watch.sent(frame)
            }
            let end = "\r\ntandem: the shell you joined closed\r\n"
            _ = try? await channel.writeAndFlush(SSHChannelData(type: .stdErr, data: .byteBuffer(channel.allocator.buffer(string: end)))).get()
            channel.triggerUserOutboundEvent(SSHChannelRequestEvent.ExitStatus(exitStatus: 0), promise: nil)
            channel.close(promise: nil)
        }
    }

    /// What the person who joined types: a pair's goes to the shell (recorded as input), a
    /// watcher's is dropped; the leave key closes their channel.
    func joinedInput(_ message: SSHChannelData, joined: JoinedShell, pair: Bool, context: ChannelHandlerContext) {
        guard case .byteBuffer(var bytes) = message.data, message.type == .channel else { return }
        let view = bytes.readableBytesView
        if let leave = view.firstIndex(where: { $0 == Self.leaveKey || (!pair && $0 == Self.interruptKey) }) {
            bytes = bytes.getSlice(at: bytes.readerIndex, length: leave - view.startIndex) ?? ByteBuffer()
            context.close(promise: nil)
        }
        guard pair, bytes.readableBytes > 0 else { return }
        // Through the owner's relay: counted, kept for a resume and recorded like their own typing.
        joined.port.owner.owner.pipeline.fireUserInboundEventTriggered(PairInput(bytes: bytes))
    }

    /// The person who joined is gone: on record, and the others are told.
    func leaveJoined() {
        guard case .joined(let joined, _, let id) = mode else { return }
        joined.watch.cancel()
        let broker = self.broker
        let token = watchToken.value
        Task {
            if let token { await broker.forgetChannel(id, token: token) }
            await broker.leave(id, token: joined.token)
        }
    }
}
