import Crypto
import Foundation
import NIOCore
import NIOSSH
import NIOSSL
import TandemAPI
import TandemCore

/// One simulated technician connection: runs control commands and a shell, as `tandem` does.
public final class LoadTechnician: Sendable {
    public let channel: Channel
    private let ssh: NIOLoopBound<NIOSSHHandler>

    private init(channel: Channel, ssh: NIOSSHHandler) {
        self.channel = channel
        self.ssh = NIOLoopBound(ssh, eventLoop: channel.eventLoop)
    }

    public static func connect(broker: BrokerAddress, tls: NIOSSLContext, user: String, key: NIOSSHPrivateKey,
                        group: EventLoopGroup) -> EventLoopFuture<LoadTechnician> {
        TLSTunnel.connect(to: broker, context: tls, group: group) { channel in
            let config = SSHClientConfiguration(userAuthDelegate: KeyOffer(user: user, key: key), serverAuthDelegate: LoopbackBroker())
            try channel.pipeline.syncOperations.addHandler(
                NIOSSHHandler(role: .client(config), allocator: channel.allocator, inboundChildChannelInitializer: nil))
        }.flatMap { channel in
            channel.pipeline.handler(type: NIOSSHHandler.self).map { LoadTechnician(channel: channel, ssh: $0) }
        }
    }

    /// Sends one typed request, as the CLI does; `line` gets each line of its answer, and the
    /// future gives the exit status.
    public func run(_ request: ControlRequest, line: @escaping @Sendable (String) -> Void) -> EventLoopFuture<Int> {
        run(request.json, line: line)
    }

    /// Sends any remote command text, as a hostile client could (same answer and status).
    public func run(_ command: String, line: @escaping @Sendable (String) -> Void) -> EventLoopFuture<Int> {
        let done = channel.eventLoop.makePromise(of: Int.self)
        open { CommandHandler(command: command, line: line, done: done) }.whenFailure { done.fail($0) }
        return done.futureResult
    }

    /// Opens a shell in `session` with a pty; `output` sees every byte the shell prints.
    public func shell(_ session: String, output: @escaping @Sendable (ByteBuffer) -> Void) -> EventLoopFuture<Channel> {
        open { ShellHandler(session: session, output: output) }
    }

    private func open(_ handler: @escaping @Sendable () -> ChannelHandler) -> EventLoopFuture<Channel> {
        let ssh = self.ssh
        return channel.eventLoop.flatSubmit {
            let promise = self.channel.eventLoop.makePromise(of: Channel.self)
            ssh.value.createChannel(promise, channelType: .session) { child, _ in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(handler())
                }
            }
            return promise.futureResult
        }
    }

    public func close() { channel.close(promise: nil) }

    final class KeyOffer: NIOSSHClientUserAuthenticationDelegate {
        let user: String
        let key: NIOSSHPrivateKey
        init(user: String, key: NIOSSHPrivateKey) {
            self.user = user
            self.key = key
        }
        func nextAuthenticationType(availableMethods: NIOSSHAvailableUserAuthenticationMethods,
                                    nextChallengePromise: EventLoopPromise<NIOSSHUserAuthenticationOffer?>) {
            nextChallengePromise.succeed(NIOSSHUserAuthenticationOffer(username: user, serviceName: "", offer: .privateKey(.init(privateKey: key))))
        }
    }

    /// The bench's own broker on loopback, whose TLS certificate was already verified.
    final class LoopbackBroker: NIOSSHClientServerAuthenticationDelegate {
        func validateHostKey(hostKey: NIOSSHPublicKey, validationCompletePromise: EventLoopPromise<Void>) {
            validationCompletePromise.succeed(())
        }
    }

    final class CommandHandler: ChannelDuplexHandler {
        typealias InboundIn = SSHChannelData
        typealias OutboundIn = SSHChannelData
        let command: String
        let line: @Sendable (String) -> Void
        let done: EventLoopPromise<Int>
        var pending = ""
        var status = -1

        init(command: String, line: @escaping @Sendable (String) -> Void, done: EventLoopPromise<Int>) {
            self.command = command
            self.line = line
            self.done = done
        }

        func handlerAdded(context: ChannelHandlerContext) {
            context.channel.setOption(ChannelOptions.allowRemoteHalfClosure, value: true).whenComplete { _ in }
        }

        func channelActive(context: ChannelHandlerContext) {
            context.triggerUserOutboundEvent(SSHChannelRequestEvent.ExecRequest(command: command, wantReply: true), promise: nil)
            context.fireChannelActive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let message = unwrapInboundIn(data)
            guard case .byteBuffer(let bytes) = message.data, message.type == .channel else { return }
            pending += String(buffer: bytes)
            while let nl = pending.firstIndex(of: "\n") {
                line(String(pending[..<nl]))
                pending.removeSubrange(...nl)
            }
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if let exit = event as? SSHChannelRequestEvent.ExitStatus { status = exit.exitStatus }
            if case ChannelEvent.inputClosed = event { context.close(promise: nil) }
        }

        func channelInactive(context: ChannelHandlerContext) {
            done.succeed(status)
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) { context.close(promise: nil) }
    }

    final class ShellHandler: ChannelDuplexHandler {
        typealias InboundIn = SSHChannelData
        typealias OutboundIn = SSHChannelData
        let session: String
        let output: @Sendable (ByteBuffer) -> Void

        init(session: String, output: @escaping @Sendable (ByteBuffer) -> Void) {
            self.session = session
            self.output = output
        }

        func handlerAdded(context: ChannelHandlerContext) {
            context.channel.setOption(ChannelOptions.allowRemoteHalfClosure, value: true).whenComplete { _ in }
        }

        func channelActive(context: ChannelHandlerContext) {
            let pty = SSHChannelRequestEvent.PseudoTerminalRequest(
                wantReply: true, term: "xterm", terminalCharacterWidth: 80, terminalRowHeight: 24,
                terminalPixelWidth: 0, terminalPixelHeight: 0, terminalModes: SSHTerminalModes([:]))
            context.triggerUserOutboundEvent(pty, promise: nil)
            context.triggerUserOutboundEvent(SSHChannelRequestEvent.ExecRequest(command: ControlRequest.shell(SessionID(rawValue: session)).json, wantReply: true), promise: nil)
            context.fireChannelActive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let message = unwrapInboundIn(data)
            if case .byteBuffer(let bytes) = message.data { output(bytes) }
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) { context.close(promise: nil) }
    }
}
