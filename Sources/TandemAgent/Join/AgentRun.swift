import CPTY
import Foundation
import Glibc
import LibSSH
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import TandemCore

/// The agent's secret for coming back after a drop: the one the broker holds now, and a new one
/// named at each attempt. Never shown or logged.
final class ResumeTokens: Sendable {
    private let token = Mutex(ResumeTokens.fresh())
    private let recordTo: String?

    init(recordTo: String? = nil) {
        self.recordTo = recordTo
        record(current)
    }

    var current: String { token.withLock { $0 } }

    /// The token to show and the one to name for next time.
    func attempt() -> (String, String) { (current, Self.fresh()) }

    func advance(to next: String) {
        token.withLock { $0 = next }
        record(next)
    }

    private func record(_ token: String) {
        guard let recordTo, let handle = FileHandle(forWritingAtPath: recordTo) ?? {
            _ = FileManager.default.createFile(atPath: recordTo, contents: nil, attributes: [.posixPermissions: 0o600])
            return FileHandle(forWritingAtPath: recordTo)
        }() else { return }
        _ = try? handle.seekToEnd()
        try? handle.write(contentsOf: Data((token + "\n").utf8))
        try? handle.close()
    }

    private static func fresh() -> String {
        var rng = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(format: "%016llx", rng.next() as UInt64) }.joined()
    }
}

/// Connections made to come back after drops, closed when the session ends.
final class LaterConnections: Sendable {
    private let channels = Mutex<[Channel]>([])
    func add(_ channel: Channel) { channels.withLock { $0.append(channel) } }
    func closeAll() { for c in channels.withLock({ $0 }) { c.close(promise: nil) } }
}

/// One run of the agent: join with a code, ask the user, then serve the session.
public struct AgentRun: Sendable {
    public var broker: BrokerAddress
    public var caPath: String?
    public var code: String
    /// Reads the user's answer; nil means the window was closed (no).
    public var ask: @Sendable (String) -> String?
    /// Show the technician's shell on the user's terminal (`--no-view` turns it off).
    public var view: Bool
    /// Tests only: where each resume token is written as the agent comes to hold it.
    public var resumeTokensFile: String?

    public init(broker: BrokerAddress, caPath: String?, code: String, view: Bool = true, ask: @escaping @Sendable (String) -> String?) {
        self.broker = broker
        self.caPath = caPath
        self.code = code
        self.view = view
        self.ask = ask
    }

    /// Exit codes: 0 session ran and ended, 1 refused by the user, 2 rejected code, 3 failure.
    public func run() async -> Int32 {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let status = await runReportingErrors(group: group)
        try? await group.shutdownGracefully()
        return status
    }

    private func runReportingErrors(group: EventLoopGroup) async -> Int32 {
        do {
            return try await session(group: group)
        } catch let error as AgentError {
            Console.say("\n\(error)")
            if case .rejected = error { return 2 }
            return 3
        } catch {
            Console.say("\n\(AgentError.setup(String(describing: error)))")
            return 3
        }
    }

    private func session(group: EventLoopGroup) async throws -> Int32 {
        let code = try SessionCode.parse(code)
        let tls = try TandemTLS.clientContext(caPath: caPath, alpn: TandemTLS.agentALPN)
        let channel: Channel
        let messages: AsyncStream<AgentMessage>
        do {
            (channel, messages) = try await connect(tls: tls, group: group)
        } catch {
            let why = (try? await ConnectFailure.explain(error, broker: broker, caPath: caPath, group: group).get())
            throw AgentError.cannotReachBroker(why ?? "\(broker): \(error)")
        }
        defer { channel.close(promise: nil) }
        var iterator = messages.makeAsyncIterator()
        let account = UserAccount.current()
        let host = ProcessInfo.processInfo.hostName
        try await channel.writeAndFlush(AgentFrameHandler.encode(.join(JoinRequest(code: code.digits, hostname: host, username: account.name)),
                                                                 allocator: channel.allocator))
        let offer: Offer
        switch await iterator.next() {
        case .offer(let o): offer = o
        case .rejected(let r): throw AgentError.rejected(r.message)
        default: throw AgentError.brokerClosed
        }

        Console.say(OfferText.describe(offer))
        let question = OfferText.question(offer)
        let answer = await withCheckedContinuation { c in
            Thread { c.resume(returning: self.ask(question)) }.start()
        }
        guard OfferText.isYes(answer) else {
            try? await channel.writeAndFlush(AgentFrameHandler.encode(.consent(Consent(approved: false, hostKey: nil)), allocator: channel.allocator))
            Console.say("You refused. Nothing was shared and nothing will run.")
            return 1
        }

        let hostKey = try SSHKey.generateEd25519()
        let tokens = ResumeTokens(recordTo: resumeTokensFile)
        try await channel.writeAndFlush(AgentFrameHandler.encode(.consent(Consent(approved: true, hostKey: try hostKey.publicLine(),
                                                                                  resumeToken: tokens.current)),
                                                                 allocator: channel.allocator))
        guard case .startSSH = await iterator.next() else { throw AgentError.brokerClosed }
        let (fd, _) = try await TLSTunnel.bridge(channel, group: group).get()
        channel.pipeline.fireUserInboundEventTriggered(BridgeReadyEvent())

        let later = LaterConnections()
        defer { later.closeAll() }
        let grace = offer.resumeGraceSeconds ?? 0
        let reconnector = Reconnector { [self] in
            await self.comeBack(sessionID: offer.sessionID, tls: tls, tokens: tokens, group: group, keep: later)
        }
        var setup = AgentSSHServer.Setup(fd: fd, hostKeyBase64: try hostKey.privateBase64(), brokerPublicKey: offer.brokerPublicKey,
                                         scopes: offer.scopes, view: view)
        setup.grace = grace
        setup.reconnect = grace > 0 ? reconnector : nil
        let server = AgentSSHServer(setup: setup, report: { Console.event($0) })
        return await SessionMonitor(offer: offer, server: server).run()
    }

    /// A TLS connection to the broker that reads agent frames until SSH starts.
    private func connect(tls: NIOSSLContext, group: EventLoopGroup) async throws -> (Channel, AsyncStream<AgentMessage>) {
        let (messages, inbox) = AsyncStream.makeStream(of: AgentMessage.self)
        let channel = try await TLSTunnel.connect(to: broker, context: tls, group: group) { ch in
            let frames = AgentFrameHandler { if case .startSSH = $0 { return true } else { return false } }
            try ch.pipeline.syncOperations.addHandler(frames)
            try ch.pipeline.syncOperations.addHandler(AgentInbox(messages: inbox))
        }.get()
        return (channel, messages)
    }

    /// One try at getting back into the session after a drop: a new connection, the resume
    /// token, and (when the broker takes it) a new stream for SSH. Nil: try again later.
    private func comeBack(sessionID: String, tls: NIOSSLContext, tokens: ResumeTokens, group: EventLoopGroup,
                          keep: LaterConnections) async -> Reconnector.Outcome? {
        guard let (channel, messages) = try? await connect(tls: tls, group: group) else { return nil }
        var iterator = messages.makeAsyncIterator()
        let (token, next) = tokens.attempt()
        do {
            try await channel.writeAndFlush(AgentFrameHandler.encode(.resume(ResumeRequest(sessionID: sessionID, token: token, next: next)),
                                                                     allocator: channel.allocator))
        } catch {
            channel.close(promise: nil)
            return nil
        }
        switch await iterator.next() {
        case .startSSH:
            // The broker holds the next token as well as this one until SSH is up: this side moves on now.
            tokens.advance(to: next)
        case .rejected(let r):
            channel.close(promise: nil)
            // "Not yet" (the broker still holds the old connection, or another try is under way) is tried again.
            return r.reason == .resumeLater ? nil : .refused(r.message)
        default:
            channel.close(promise: nil)
            return nil
        }
        guard let (fd, _) = try? await TLSTunnel.bridge(channel, group: group).get() else {
            channel.close(promise: nil)
            return nil
        }
        channel.pipeline.fireUserInboundEventTriggered(BridgeReadyEvent())
        keep.add(channel)
        return .connected(fd)
    }
}
