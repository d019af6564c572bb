import CPTY
import Foundation
import Glibc
import LibSSH
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import TandemCore

/// One run of the agent: join with a code, ask the user, then serve the session.
public struct AgentRun: Sendable {
    public var broker: BrokerAddress
    public var caPath: String?
    public var code: String
    /// Reads the user's answer; nil means the window was closed (no).
    public var ask: @Sendable (String) -> String?
    /// Show the technician's shell on the user's terminal (`--no-view` turns it off).
    public var view: Bool

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
        let (messages, inbox) = AsyncStream.makeStream(of: AgentMessage.self)
        let channel: Channel
        do {
            channel = try await TLSTunnel.connect(to: broker, context: tls, group: group) { ch in
                let frames = AgentFrameHandler { if case .startSSH = $0 { return true } else { return false } }
                try ch.pipeline.syncOperations.addHandler(frames)
                try ch.pipeline.syncOperations.addHandler(AgentInbox(messages: inbox))
            }.get()
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
        try await channel.writeAndFlush(AgentFrameHandler.encode(.consent(Consent(approved: true, hostKey: try hostKey.publicLine())),
                                                                 allocator: channel.allocator))
        guard case .startSSH = await iterator.next() else { throw AgentError.brokerClosed }
        let (fd, _) = try await TLSTunnel.bridge(channel, group: group).get()
        channel.pipeline.fireUserInboundEventTriggered(BridgeReadyEvent())

        let server = AgentSSHServer(
            setup: .init(fd: fd, hostKeyBase64: try hostKey.privateBase64(), brokerPublicKey: offer.brokerPublicKey, scopes: offer.scopes,
                         view: view),
            report: { Console.event($0) })
        return await SessionMonitor(offer: offer, server: server).run()
    }
}
