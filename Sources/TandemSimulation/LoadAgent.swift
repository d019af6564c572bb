import Crypto
import Foundation
import NIOCore
import NIOSSH
import NIOSSL
import TandemCore

/// One simulated agent: joins with a code, approves, and serves a shell that echoes like a tty.
///
/// It speaks the same wire protocol as `tandem-agent`, but on NIO rather than libssh with a
/// thread and a real shell each, so thousands fit in one process. Only the broker is measured.
public enum LoadAgent {
    public static func join(code: String, broker: BrokerAddress, tls: NIOSSLContext, group: EventLoopGroup) -> EventLoopFuture<Channel> {
        let hostKey = NIOSSHPrivateKey(ed25519Key: Curve25519.Signing.PrivateKey())
        return TLSTunnel.connect(to: broker, context: tls, group: group) { channel in
            let frames = AgentFrameHandler { if case .startSSH = $0 { return true } else { return false } }
            if ProcessInfo.processInfo.environment["LOADGEN_TRACE"] != nil { try channel.pipeline.syncOperations.addHandler(Trace()) }
            try channel.pipeline.syncOperations.addHandler(frames)
            try channel.pipeline.syncOperations.addHandler(JoinHandler(code: code, hostKey: hostKey, frames: frames))
        }
    }

    /// Answers the offer with yes and a fresh host key, then becomes an SSH server.
    final class JoinHandler: ChannelInboundHandler {
        typealias InboundIn = AgentMessage
        let code: String
        let hostKey: NIOSSHPrivateKey
        let frames: AgentFrameHandler
        var brokerKey: NIOSSHPublicKey?

        init(code: String, hostKey: NIOSSHPrivateKey, frames: AgentFrameHandler) {
            self.code = code
            self.hostKey = hostKey
            self.frames = frames
        }

        private var joined = false

        func channelActive(context: ChannelHandlerContext) {
            // NIOSSHHandler passes channelActive on again when it is added: join only once.
            guard !joined else { return }
            joined = true
            send(.join(JoinRequest(code: code, hostname: "loadgen", username: "load")), context: context)
            context.fireChannelActive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .offer(let offer):
                brokerKey = try? NIOSSHPublicKey(openSSHPublicKey: offer.brokerPublicKey)
                send(.consent(Consent(approved: true, hostKey: String(openSSHPublicKey: hostKey.publicKey))), context: context)
            case .startSSH:
                guard let brokerKey else { context.close(promise: nil); return }
                let config = SSHServerConfiguration(hostKeys: [hostKey], userAuthDelegate: OnlyKey(brokerKey))
                let ssh = NIOSSHHandler(role: .server(config), allocator: context.channel.allocator) { child, _ in
                    child.eventLoop.makeCompletedFuture {
                        try child.pipeline.syncOperations.addHandler(EchoShell())
                    }
                }
                do {
                    try context.pipeline.syncOperations.addHandler(ssh, position: .after(frames))
                } catch {
                    context.close(promise: nil)
                }
            case .rejected(let r):
                FileHandle.standardError.write(Data("loadgen: join rejected: \(r.message)\n".utf8))
                context.close(promise: nil)
            default:
                break
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            FileHandle.standardError.write(Data("loadgen: agent connection failed: \(error)\n".utf8))
            context.close(promise: nil)
        }

        private func send(_ m: AgentMessage, context: ChannelHandlerContext) {
            context.writeAndFlush(NIOAny(AgentFrameHandler.encode(m, allocator: context.channel.allocator)), promise: nil)
        }
    }

    final class Trace: ChannelDuplexHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundIn = ByteBuffer
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let b = unwrapInboundIn(data)
            print("IN  \(b.readableBytes): \(b.readableBytesView.prefix(48).map { String(format: "%02x", $0) }.joined())")
            context.fireChannelRead(data)
        }
        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            let b = unwrapOutboundIn(data)
            print("OUT \(b.readableBytes): \(b.readableBytesView.prefix(48).map { String(format: "%02x", $0) }.joined())")
            context.write(data, promise: promise)
        }
    }

    /// Lets in the broker's key only, as the real agent does.
    final class OnlyKey: NIOSSHServerUserAuthenticationDelegate {
        let key: NIOSSHPublicKey
        init(_ key: NIOSSHPublicKey) { self.key = key }
        var supportedAuthenticationMethods: NIOSSHAvailableUserAuthenticationMethods { .publicKey }
        func requestReceived(request: NIOSSHUserAuthenticationRequest, responsePromise: EventLoopPromise<NIOSSHUserAuthenticationOutcome>) {
            if case .publicKey(let offer) = request.request, offer.publicKey == key {
                responsePromise.succeed(.success)
            } else {
                responsePromise.succeed(.failure)
            }
        }
    }

    /// A line discipline and a shell that knows `echo`: enough for keystrokes and commands.
    final class EchoShell: ChannelDuplexHandler {
        typealias InboundIn = SSHChannelData
        typealias OutboundIn = SSHChannelData
        typealias OutboundOut = SSHChannelData
        private var line: [UInt8] = []

        func handlerAdded(context: ChannelHandlerContext) {
            context.channel.setOption(ChannelOptions.allowRemoteHalfClosure, value: true).whenComplete { _ in }
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            switch event {
            case let pty as SSHChannelRequestEvent.PseudoTerminalRequest:
                if pty.wantReply { context.triggerUserOutboundEvent(ChannelSuccessEvent(), promise: nil) }
            case let shell as SSHChannelRequestEvent.ShellRequest:
                if shell.wantReply { context.triggerUserOutboundEvent(ChannelSuccessEvent(), promise: nil) }
                write(Array("$ ".utf8), context: context)
            case let exec as SSHChannelRequestEvent.ExecRequest:
                // Only `echo WORDS`, as a command would: its output, exit status 0, close.
                guard exec.command.hasPrefix("echo ") else {
                    if exec.wantReply { context.triggerUserOutboundEvent(ChannelFailureEvent(), promise: nil) }
                    return
                }
                if exec.wantReply { context.triggerUserOutboundEvent(ChannelSuccessEvent(), promise: nil) }
                write(Array(exec.command.dropFirst(5).utf8) + [UInt8(ascii: "\n")], context: context)
                context.triggerUserOutboundEvent(SSHChannelRequestEvent.ExitStatus(exitStatus: 0), promise: nil)
                context.close(promise: nil)
            case ChannelEvent.inputClosed:
                context.close(promise: nil)
            default:
                context.fireUserInboundEventTriggered(event)
            }
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .byteBuffer(let bytes) = unwrapInboundIn(data).data else { return }
            var out: [UInt8] = []
            for b in bytes.readableBytesView {
                switch b {
                case UInt8(ascii: "\r"):
                    out += Array("\r\n".utf8)
                    if line.starts(with: Array("echo ".utf8)) { out += line.dropFirst(5) + Array("\r\n".utf8) }
                    out += Array("$ ".utf8)
                    line.removeAll()
                case 0x15:  // Ctrl-U
                    line.removeAll()
                default:
                    line.append(b)
                    out.append(b)
                }
            }
            write(out, context: context)
        }

        private func write(_ bytes: [UInt8], context: ChannelHandlerContext) {
            let buffer = context.channel.allocator.buffer(bytes: bytes)
            context.writeAndFlush(wrapOutboundOut(SSHChannelData(type: .channel, data: .byteBuffer(buffer))), promise: nil)
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) { context.close(promise: nil) }
    }
}
