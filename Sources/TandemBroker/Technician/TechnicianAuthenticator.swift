import Logging
import NIOCore
import NIOSSH
import TandemAudit
import TandemCore
import TandemStore
import TandemText

/// Who is logged in on one technician connection; read by its channels (same event loop).
final class ConnectionIdentity {
    var user: User?
    var peer = "unknown"
    /// Refusals put on record for this connection so far.
    var refusals = 0
    /// The session a stock client named through `tandem proxy` (`ProxyPreamble`); nil for the `tandem` CLI.
    var target: SessionID?
    /// The proxy's nonce for its closing notice, when the connection came through `tandem proxy`.
    var proxyNonce: String?
    /// The login name the client asked for, and the fingerprints of the keys it proved it holds (up to 8).
    var loginName: String?
    var offeredKeys: [String] = []
    /// The fingerprint of the key the user logged in with (a shell's resume is bound to it).
    var loginKey: String?

    /// A connection's refusals are recorded up to this many; a client that keeps asking is only logged once more.
    static let refusalsRecorded = 20

    /// Whether this refusal of `kind` goes on record (and in the log); false once the connection has used
    /// its share (it is still counted in the metrics).
    func recordsRefusal(_ kind: EventKind, logger: Logger) -> Bool {
        refusals += 1
        if refusals > Self.refusalsRecorded { BrokerMetrics.refusal(kind.rawValue) }
        if refusals == Self.refusalsRecorded + 1 {
            logger.notice("connection from \(peer): more than \(Self.refusalsRecorded) refused requests; the rest are not recorded")
        }
        return refusals <= Self.refusalsRecorded
    }
}

/// Public-key login against the keys registered with `tandemd user add`.
final class TechnicianAuthenticator: NIOSSHServerUserAuthenticationDelegate {
    let supportedAuthenticationMethods: NIOSSHAvailableUserAuthenticationMethods = .publicKey
    private let store: any BrokerStore
    private let identity: ConnectionIdentity
    private let logger: Logger
    private let onAuthenticated: () -> Void
    private let onBrokerError: () -> Void

    /// `onBrokerError` drops the connection: the client then says the broker failed, not the key.
    init(store: any BrokerStore, identity: ConnectionIdentity, logger: Logger, onAuthenticated: @escaping () -> Void,
         onBrokerError: @escaping () -> Void) {
        self.store = store
        self.identity = identity
        self.logger = logger
        self.onAuthenticated = onAuthenticated
        self.onBrokerError = onBrokerError
    }

    func requestReceived(request: NIOSSHUserAuthenticationRequest, responsePromise: EventLoopPromise<NIOSSHUserAuthenticationOutcome>) {
        let name = String(request.username.prefix(64))
        identity.loginName = name
        // An RSA key never gets here (swift-nio-ssh refuses its algorithm first): a client that only
        // ever sends "none" offered no key the broker can use, which `loginNotice` says.
        guard case .publicKey(let offered) = request.request else {
            responsePromise.succeed(.failure)
            return
        }
        if identity.offeredKeys.count < 8 {
            let fingerprint = BrokerIdentity.fingerprint(ofOpenSSHLine: String(openSSHPublicKey: offered.publicKey))
            if !identity.offeredKeys.contains(fingerprint) { identity.offeredKeys.append(fingerprint) }
        }
        // The lookup runs off the event loop; the answer comes back to it.
        let store = self.store
        responsePromise.futureResult.eventLoop.makeFutureWithTask { try await store.user(named: name) }
            .assumeIsolated().whenComplete { result in
                self.decide(name: name, offered: offered.publicKey, found: result, responsePromise: responsePromise)
            }
    }

    private func decide(name: String, offered: NIOSSHPublicKey, found result: Result<User?, any Error>,
                        responsePromise: EventLoopPromise<NIOSSHUserAuthenticationOutcome>) {
        let found: User?
        switch result {
        case .success(let user):
            found = user
        case .failure(let error):
            logger.error("login of '\(TerminalText.escape(name))' from \(identity.peer) failed: the broker could not read its users (\(error))")
            // No answer at all: a refusal would tell the client its key is wrong.
            onBrokerError()
            responsePromise.fail(TandemError.io("the broker could not read its users"))
            return
        }
        guard let user = found,
              user.publicKeys.contains(where: { (try? NIOSSHPublicKey(openSSHPublicKey: $0)) == offered }) else {
            logger.notice("login refused for '\(TerminalText.escape(name))' from \(identity.peer): unknown user or key")
            responsePromise.succeed(.failure)
            return
        }
        guard user.status == .active else {
            logger.notice("login refused for '\(TerminalText.escape(name))' from \(identity.peer): the account is \(user.status.rawValue)")
            responsePromise.succeed(.failure)
            return
        }
        identity.user = user
        identity.loginKey = BrokerIdentity.fingerprint(ofOpenSSHLine: String(openSSHPublicKey: offered))
        // swift-nio-ssh announces a successful login only on the client side.
        onAuthenticated()
        responsePromise.succeed(.success)
    }
}

@available(*, unavailable)
extension TechnicianAuthenticator: Sendable {}

/// Refuses every port-forwarding request and puts the attempt on record.
struct ForwardingRefusal: GlobalRequestDelegate {
    let broker: Broker
    let identity: NIOLoopBound<ConnectionIdentity>
    let logger: Logger

    func tcpForwardingRequest(_ request: GlobalRequest.TCPForwardingRequest, handler: NIOSSHHandler,
                              promise: EventLoopPromise<GlobalRequest.TCPForwardingResponse>) {
        let who = identity.value.user?.name ?? "unknown"
        let target: String
        switch request {
        case .listen(let host, let port): target = "listen \(host):\(port)"
        case .cancel(let host, let port): target = "cancel \(host):\(port)"
        }
        if identity.value.recordsRefusal(.portForwardRefused, logger: logger) {
            logger.notice("refused remote port forwarding (\(TerminalText.field(target, limit: 300))) for \(TerminalText.field(who, limit: 64))")
            broker.journal.submit(PortForwardRefused(request: "tcpip-forward", target: String(target.prefix(300))), ticket: nil, session: nil, actor: who)
        }
        promise.fail(TandemError.permissionDenied("port forwarding is not allowed"))
    }
}
