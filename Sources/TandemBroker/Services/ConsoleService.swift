import Foundation
import TandemAPI
import TandemAudit
import TandemCore
import TandemStore

/// Signing in to the web console without a password: the SSH key proves who asks for a
/// one-time link (`lnk_…`, 60 seconds, once), and the link is exchanged for a console session
/// (`con_…`, 8 hours) carried in a cookie. Both are stored only as hashes, beside API tokens.
public struct ConsoleService: Sendable {
    let broker: Broker

    static let linkPrefix = "lnk_"
    static let sessionPrefix = "con_"
    public static let linkSeconds = 60
    public static let sessionSeconds = 8 * 3600

    /// Why a link or a console cookie was not accepted: answered with a page that says what to do,
    /// and logged with the public id only.
    public enum Refusal: Error, Equatable, Sendable {
        case malformed
        case unknown(String)
        case used(String)
        case expired(String)
        case ended(String)
        case ownerInactive(String)

        /// For the log: never the secret.
        public var logText: String {
            switch self {
            case .malformed: "a malformed console link or cookie"
            case .unknown(let id): "unknown console credential \(id)"
            case .used(let id): "sign-in link \(id) used a second time"
            case .expired(let id): "expired console credential \(id)"
            case .ended(let id): "console session \(id) was signed out"
            case .ownerInactive(let id): "console credential \(id) of a disabled or removed user"
            }
        }

        /// For the person at the browser: what to do next.
        public var message: String {
            switch self {
            case .malformed, .unknown: "This sign-in link is not valid. Run 'tandem console' for a new one."
            case .used: "This sign-in link was already used; each link signs in once. Run 'tandem console' for a new one."
            case .expired: "This sign-in link or console session has expired. Run 'tandem console' for a new one."
            case .ended: "You were signed out. Run 'tandem console' to sign in again."
            case .ownerInactive: "The account this link belongs to is disabled."
            }
        }
    }

    /// A link for the caller; only over the SSH control channel, so a stolen token or cookie cannot make one.
    public func link(_ caller: Caller) async throws -> ConsoleLinkView {
        guard caller.via == .sshKey else {
            try await Policy(broker: broker, caller: caller).deny("sign-in links are made with 'tandem console', which logs in with your SSH key",
                                                                  operation: "console.link")
        }
        let link = SecretToken.make(prefix: Self.linkPrefix)
        let now = Date()
        try await broker.store.addToken(TokenRecord(id: link.id, owner: caller.user.name, name: "console sign-in link",
                                                    secretHash: SecretToken.hash(link.text), created: now,
                                                    expires: now.addingTimeInterval(Double(Self.linkSeconds))))
        return ConsoleLinkView(path: "/console/sign-in?link=" + link.text, expiresIn: Self.linkSeconds)
    }

    /// Whose link this is, without spending it: the page a link opens asks before it signs in, so a
    /// link opened by a preview bot, or planted by another site, signs no one in by itself.
    public func preview(link text: String) async throws -> User {
        guard let id = SecretToken.id(of: text, prefix: Self.linkPrefix) else { throw Refusal.malformed }
        guard let record = try await broker.store.token(secretHash: SecretToken.hash(text)), record.id == id else { throw Refusal.unknown(id) }
        if record.revoked != nil { throw Refusal.used(id) }
        if record.expires <= Date() { throw Refusal.expired(id) }
        return try await activeOwner(of: record)
    }

    /// Exchanges a link for a console session: the link is spent first, whatever follows, so it
    /// signs in once even when two browsers race with it. Answers the cookie's value and the caller.
    public func signIn(link text: String) async throws -> (cookie: String, caller: Caller) {
        guard let id = SecretToken.id(of: text, prefix: Self.linkPrefix) else { throw Refusal.malformed }
        let store = broker.store
        guard let record = try await store.token(secretHash: SecretToken.hash(text)), record.id == id else { throw Refusal.unknown(id) }
        guard try await store.revokeToken(id: id, at: Date()) else { throw Refusal.used(id) }
        if record.expires <= Date() { throw Refusal.expired(id) }
        let user = try await activeOwner(of: record)
        let session = SecretToken.make(prefix: Self.sessionPrefix)
        let now = Date()
        let expires = now.addingTimeInterval(Double(Self.sessionSeconds))
        try await store.addToken(TokenRecord(id: session.id, owner: user.name, name: "console session", secretHash: SecretToken.hash(session.text),
                                             created: now, expires: expires))
        guard await broker.recordEvent(ConsoleSignedIn(console: session.id, expires: Int(expires.timeIntervalSince1970)), session: nil,
                                       actor: user.name) else {
            _ = try? await store.revokeToken(id: session.id, at: Date())
            throw TandemError.io("the sign-in could not be recorded, so it was refused; the broker's operator has been told")
        }
        return (session.text, Caller(user: user, via: .console(session.id)))
    }

    /// The caller a console cookie stands for.
    public func authenticate(cookie text: String) async throws -> Caller {
        guard let id = SecretToken.id(of: text, prefix: Self.sessionPrefix) else { throw Refusal.malformed }
        guard let record = try await broker.store.token(secretHash: SecretToken.hash(text)), record.id == id else { throw Refusal.unknown(id) }
        if record.revoked != nil { throw Refusal.ended(id) }
        if record.expires <= Date() { throw Refusal.expired(id) }
        return Caller(user: try await activeOwner(of: record), via: .console(id))
    }

    /// Ends the console session the caller is using.
    public func signOut(_ caller: Caller) async throws {
        guard case .console(let id) = caller.via else { return }
        if try await broker.store.revokeToken(id: id, at: Date()) {
            await broker.recordEvent(ConsoleSignedOut(scope: "one", sessions: 1), session: nil, actor: caller.user.name)
        }
    }

    /// Ends every console session of the caller (and spends their unused links).
    public func signOutAll(_ caller: Caller) async throws -> ConsoleSignOutView {
        let now = Date()
        var ended = 0
        for t in try await broker.store.tokens(owner: caller.user.name)
        where t.revoked == nil && t.expires > now && (t.id.hasPrefix(Self.sessionPrefix) || t.id.hasPrefix(Self.linkPrefix)) {
            if try await broker.store.revokeToken(id: t.id, at: now), t.id.hasPrefix(Self.sessionPrefix) { ended += 1 }
        }
        await broker.recordEvent(ConsoleSignedOut(scope: "all", sessions: ended), session: nil, actor: caller.user.name)
        return ConsoleSignOutView(signedOut: ended)
    }

    private func activeOwner(of record: TokenRecord) async throws -> User {
        guard let user = try await broker.store.user(named: record.owner), user.status == .active, await broker.isActive(user.name) else {
            throw Refusal.ownerInactive(record.id)
        }
        return user
    }
}
