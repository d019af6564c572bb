import Foundation
import Logging
import NIOCore
import NIOSSH
import Synchronization
import TandemCore
import TandemText

/// Runs the agent's side of pairing on one connection: code → offer → consent → SSH.
final class AgentJoinHandler: ChannelInboundHandler {
    typealias InboundIn = AgentMessage

    private enum State {
        case awaitingJoin
        case checkingCode
        case awaitingConsent(SessionID, actor: String)
        case ssh(SessionID, consentRecorded: EventLoopFuture<Bool>)
        case checkingResume
        /// A returning agent: SSH with the session's pinned key, then its relays are taken up again.
        case resuming(SessionID)
        case done
    }

    private let broker: Broker
    private let config: BrokerConfig
    private let logger: Logger
    private weak var frameHandler: AgentFrameHandler?
    private var state = State.awaitingJoin
    private var consentTimer: Scheduled<Void>?
    private var source = "unknown"
    /// The agent's address when another replica passed its connection on (the channel's is that replica's).
    private let forwardedFrom: String?
    private let health: LinkHealth

    init(broker: Broker, config: BrokerConfig, frameHandler: AgentFrameHandler, health: LinkHealth, source: String? = nil, logger: Logger) {
        self.health = health
        self.broker = broker
        self.config = config
        self.frameHandler = frameHandler
        self.forwardedFrom = source
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        source = forwardedFrom ?? context.channel.clientIP
        context.fireChannelActive()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        source = forwardedFrom ?? context.channel.clientIP
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let message = unwrapInboundIn(data)
        switch (state, message) {
        case (.awaitingJoin, .join(let request)):
            context.fireUserInboundEventTriggered(PeerEstablishedEvent())
            state = .checkingCode
            redeem(request, context: context)
        case (.awaitingConsent(let id, let actor), .consent(let consent)):
            consentTimer?.cancel()
            handleConsent(consent, id: id, actor: actor, context: context)
        case (.awaitingJoin, .resume(let request)):
            context.fireUserInboundEventTriggered(PeerEstablishedEvent())
            state = .checkingResume
            resume(request, context: context)
        default:
            context.fireErrorCaught(TandemError.protocolViolation("unexpected agent message in this state"))
        }
    }

    private func redeem(_ request: JoinRequest, context: ChannelHandlerContext) {
        let broker = self.broker
        let source = self.source
        let user = String(request.username.prefix(64))
        let host = String(request.hostname.prefix(128))
        context.eventLoop.makeFutureWithTask {
            await broker.redeem(code: request.code, source: source, agentUser: user, agentHost: host)
        }.assumeIsolated().whenSuccess { result in
            switch result {
            case .success(let offer):
                let id = SessionID(rawValue: offer.sessionID)
                self.state = .awaitingConsent(id, actor: "\(user)@\(host)")
                context.writeAndFlush(NIOAny(AgentFrameHandler.encode(.offer(offer), allocator: context.channel.allocator)), promise: nil)
                self.startConsentTimer(id: id, context: context)
            case .failure(let error):
                self.state = .done
                let rejection = Rejection(reason: Self.reason(for: error), message: error.description)
                context.writeAndFlush(NIOAny(AgentFrameHandler.encode(.rejected(rejection), allocator: context.channel.allocator)))
                    .assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            }
        }
    }

    private func startConsentTimer(id: SessionID, context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let broker = self.broker
        consentTimer = context.eventLoop.scheduleTask(in: .seconds(Int64(config.consentTimeout))) {
            Task { _ = await broker.consent(id, approved: false, actor: "agent (no answer in time)") }
            loopBound.value.close(promise: nil)
        }
    }

    private func handleConsent(_ consent: Consent, id: SessionID, actor: String, context: ChannelHandlerContext) {
        let broker = self.broker
        guard consent.approved else {
            state = .done
            _ = context.eventLoop.makeFutureWithTask { await broker.consent(id, approved: false, actor: actor) }
            context.close(promise: nil)
            return
        }
        guard let line = consent.hostKey, let hostKey = try? NIOSSHPublicKey(openSSHPublicKey: line) else {
            state = .done
            _ = context.eventLoop.makeFutureWithTask { await broker.consent(id, approved: false, actor: "\(actor) (invalid host key)") }
            context.fireErrorCaught(TandemError.protocolViolation("approval without a valid host key"))
            return
        }
        let token = consent.resumeToken.flatMap { $0.utf8.count <= 128 ? $0 : nil }
        let recorded = context.eventLoop.makeFutureWithTask {
            await broker.consent(id, approved: true, actor: actor, hostKey: hostKey, resumeToken: token)
        }
        state = .ssh(id, consentRecorded: recorded)
        startSSH(id, hostKey: hostKey, context: context)
    }

    /// Sends the start frame and becomes the SSH client of the agent, accepting only `hostKey`.
    private func startSSH(_ id: SessionID, hostKey: NIOSSHPublicKey, context: ChannelHandlerContext) {
        let broker = self.broker
        // The start frame must precede the SSH banner on the wire.
        context.writeAndFlush(NIOAny(AgentFrameHandler.encode(.startSSH, allocator: context.channel.allocator)), promise: nil)
        do {
            let client = SSHClientConfiguration(
                userAuthDelegate: BrokerKeyOffer(key: broker.identity.nioPrivateKey),
                serverAuthDelegate: PinnedHostKey(expected: hostKey))
            let ssh = NIOSSHHandler(role: .client(client), allocator: context.channel.allocator, inboundChildChannelInitializer: nil)
            guard let frameHandler else { throw TandemError.protocolViolation("frame handler gone") }
            try context.pipeline.syncOperations.addHandler(ssh, position: .after(frameHandler))
            // SSH reads the bytes the frames held since the switch, and all that follow.
            defer { frameHandler.release() }
            // NIOSSHHandler does not pass channelInactive on, so watch the close itself.
            let link = AgentLink(channel: context.channel, health: health)
            let established = self.established
            let resuming: Bool
            if case .resuming = state { resuming = true } else { resuming = false }
            context.channel.closeFuture.whenComplete { _ in
                Task { await broker.agentGone(id, link: link, established: established.value, resuming: resuming) }
            }
        } catch {
            context.fireErrorCaught(error)
        }
    }

    /// SSH with the agent reached its login: set once, read when the connection ends.
    private let established = EstablishedFlag()

    /// A returning agent: its token must be the session's, and its SSH must show the session's key.
    private func resume(_ request: ResumeRequest, context: ChannelHandlerContext) {
        let broker = self.broker
        let source = self.source
        context.eventLoop.makeFutureWithTask {
            await broker.resumeAgent(request, source: source)
        }.assumeIsolated().whenSuccess { result in
            let rejection: Rejection
            switch result {
            case .go(let id, let hostKey):
                self.state = .resuming(id)
                self.startSSH(id, hostKey: hostKey, context: context)
                // A returning agent that does not reach its login soon frees the way for the next try.
                let channel = context.channel
                let established = self.established
                context.eventLoop.scheduleTask(in: .seconds(15)) { if !established.value { channel.close(promise: nil) } }
                return
            case .forward(let id):
                self.state = .done
                self.passOn(id, request: request, context: context)
                return
            case .later(let why): rejection = Rejection(reason: .resumeLater, message: why)
            case .refused(let why): rejection = Rejection(reason: .resumeRefused, message: why)
            }
            self.state = .done
            context.writeAndFlush(NIOAny(AgentFrameHandler.encode(.rejected(rejection), allocator: context.channel.allocator)))
                .assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }

    /// The session is held by another replica: the agent's connection is passed on to it, resume
    /// frame first, and the owner answers it. Told to try again if the owner cannot be reached.
    private func passOn(_ id: SessionID, request: ResumeRequest, context: ChannelHandlerContext) {
        guard let peering = broker.peering, let frameHandler else { return context.close(promise: nil) }
        let forward = AgentForwardHandler(health: health)
        do {
            try context.pipeline.syncOperations.addHandler(forward, position: .after(frameHandler))
        } catch {
            return context.close(promise: nil)
        }
        frameHandler.release()
        let agent = context.channel
        let source = self.source
        let key = broker.identity.nioPrivateKey
        let logger = self.logger
        context.eventLoop.makeFutureWithTask {
            try await peering.forwardedAgent(for: id, from: source, agent: agent, key: key)
        }.assumeIsolated().whenComplete { result in
            switch result {
            case .success(let owner):
                logger.info("session \(id): its agent came back here; passed on to the replica that holds it", metadata: ["session": .string(id.rawValue)])
                // The resume frame first: the owner checks it as if the agent had come to it.
                let frame = AgentFrameHandler.encode(.resume(request), allocator: owner.allocator)
                owner.write(SSHChannelData(type: .channel, data: .byteBuffer(frame)), promise: nil)
                forward.attach(owner, context: context)
            case .failure(let error):
                logger.warning("session \(id): could not pass its returning agent on: \(TerminalText.field("\(error)", limit: 300))")
                let refused = (error as? PeerLinkError).map { if case .refusedAgent = $0 { true } else { false } } ?? false
                let rejection = refused
                    ? Rejection(reason: .resumeRefused, message: "this computer's way back into the session was not accepted; ask your technician for a new code")
                    : Rejection(reason: .resumeLater, message: "the broker replica holding this session did not answer; trying again")
                context.writeAndFlush(NIOAny(AgentFrameHandler.encode(.rejected(rejection), allocator: context.channel.allocator)))
                    .assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is UserAuthSuccessEvent, case .ssh(let id, let recorded) = state {
            let broker = self.broker
            let link = AgentLink(channel: context.channel, health: health)
            established.set()
            recorded.whenSuccess { approved in
                Task { if approved { await broker.agentReady(id, link: link) } else { link.close() } }
            }
        }
        if event is UserAuthSuccessEvent, case .resuming(let id) = state {
            let broker = self.broker
            let link = AgentLink(channel: context.channel, health: health)
            established.set()
            Task { await broker.agentResumed(id, link: link) }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        consentTimer?.cancel()
        let broker = self.broker
        switch state {
        case .awaitingConsent(let id, let actor):
            // A closed window is a refusal.
            Task { _ = await broker.consent(id, approved: false, actor: "\(actor) (agent closed)") }
        default:
            break
        }
        state = .done
        context.fireChannelInactive()
    }

    private static func reason(for error: TandemError) -> Rejection.Reason {
        switch error {
        case .codeExpired: return .expired
        case .codeUsed: return .used
        case .tooManyAttempts: return .rateLimited
        case .codeUnknown: return .unknown
        default: return .internalError
        }
    }
}

@available(*, unavailable)
extension AgentJoinHandler: Sendable {}

/// Set once SSH with the agent is logged in.
final class EstablishedFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func set() { flag.store(true, ordering: .relaxed) }
    var value: Bool { flag.load(ordering: .relaxed) }
}

/// Logs the broker in with the broker's key, once: to an agent, or to another replica.
final class BrokerKeyOffer: NIOSSHClientUserAuthenticationDelegate {
    private var offered = false
    private let key: NIOSSHPrivateKey
    private let username: String
    init(key: NIOSSHPrivateKey, username: String = "tandem-broker") {
        self.key = key
        self.username = username
    }

    func nextAuthenticationType(availableMethods: NIOSSHAvailableUserAuthenticationMethods,
                                nextChallengePromise: EventLoopPromise<NIOSSHUserAuthenticationOffer?>) {
        guard !offered, availableMethods.contains(.publicKey) else {
            nextChallengePromise.succeed(nil)
            return
        }
        offered = true
        nextChallengePromise.succeed(NIOSSHUserAuthenticationOffer(username: username, serviceName: "", offer: .privateKey(.init(privateKey: key))))
    }
}

/// Accepts only the host key the agent announced in its approval.
struct PinnedHostKey: NIOSSHClientServerAuthenticationDelegate {
    let expected: NIOSSHPublicKey
    func validateHostKey(hostKey: NIOSSHPublicKey, validationCompletePromise: EventLoopPromise<Void>) {
        if hostKey == expected {
            validationCompletePromise.succeed(())
        } else {
            validationCompletePromise.fail(TandemError.protocolViolation("agent host key differs from the one it announced"))
        }
    }
}
