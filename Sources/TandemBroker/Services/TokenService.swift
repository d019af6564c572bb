import Crypto
import Foundation
import Logging
import TandemAPI
import TandemAudit
import TandemCore
import TandemStore

/// API tokens: made over the SSH control channel (the SSH key stays the identity), used as
/// bearer tokens on the HTTP API with their owner's role, stored only as a hash.
public struct TokenService: Sendable {
    let broker: Broker

    /// The `tok_…` prefix is public (lists, events); the part after the dot is the secret.
    static let prefix = "tok_"

    public func mint(_ caller: Caller, name: String, expiresIn seconds: Int) async throws -> MintedToken {
        guard caller.via == .sshKey else {
            // A stolen token must not be able to make itself a successor.
            try await Policy(broker: broker, caller: caller).deny("tokens are made with 'tandem token new', which logs in with your SSH key",
                                                                  operation: "token.new")
        }
        try TicketFields.validate(tokenName: name)
        let minted = SecretToken.make(prefix: Self.prefix)
        let (id, token) = (minted.id, minted.text)
        let now = Date()
        let record = TokenRecord(id: id, owner: caller.user.name, name: name, secretHash: SecretToken.hash(token), created: now,
                                 expires: now.addingTimeInterval(Double(seconds)))
        try await broker.store.addToken(record)
        guard await broker.recordEvent(TokenCreated(token: id, name: name, expires: Int(record.expires.timeIntervalSince1970)),
                                       session: nil, actor: caller.user.name) else {
            _ = try? await broker.store.revokeToken(id: id, at: Date())
            throw TandemError.io("the token could not be recorded, so it was not issued; the broker's operator has been told")
        }
        return MintedToken(token: token, info: record.view)
    }

    /// The caller's tokens; an admin sees everyone's. Console sessions and sign-in links share the
    /// table but are not API tokens: `tandem console sign-out-all` ends those.
    public func list(_ caller: Caller) async throws -> [TokenView] {
        try await broker.store.tokens(owner: caller.user.role == .admin ? nil : caller.user.name).filter { $0.id.hasPrefix(Self.prefix) }.map(\.view)
    }

    /// Revokes one of the caller's tokens (an admin: anyone's); someone else's is answered as unknown.
    public func revoke(_ caller: Caller, id: String) async throws -> TokenView {
        guard let token = try await broker.store.token(id: id), token.owner == caller.user.name || caller.user.role == .admin else {
            throw TandemError.notFound("token \(id) (see 'tandem token list')")
        }
        guard try await broker.store.revokeToken(id: id, at: Date()) else {
            throw TandemError.invalidArgument("token \(id) is already revoked")
        }
        await broker.recordEvent(TokenRevoked(token: id, owner: token.owner), session: nil, actor: caller.user.name)
        return (try await broker.store.token(id: id) ?? token).view
    }

    /// Why a bearer token was not accepted; each is answered 401 and logged with the token's public id only.
    public enum Refusal: Error, Equatable, Sendable {
        case malformed
        case unknown(String)
        case expired(String)
        case revoked(String)
        case ownerInactive(String)

        /// For the log: never the secret.
        public var logText: String {
            switch self {
            case .malformed: "a malformed bearer token"
            case .unknown(let id): "unknown token \(id)"
            case .expired(let id): "expired token \(id)"
            case .revoked(let id): "revoked token \(id)"
            case .ownerInactive(let id): "token \(id) of a disabled or removed user"
            }
        }

        /// For the client: what to do next.
        public var message: String {
            switch self {
            case .malformed, .unknown: "this token is not valid; make one with 'tandem token new'"
            case .expired: "this token has expired; make a new one with 'tandem token new'"
            case .revoked: "this token was revoked; make a new one with 'tandem token new'"
            case .ownerInactive: "the account this token belongs to is disabled"
            }
        }
    }

    /// The caller a bearer token stands for.
    public func authenticate(bearer token: String) async throws -> Caller {
        guard let id = SecretToken.id(of: token, prefix: Self.prefix) else { throw Refusal.malformed }
        guard let record = try await broker.store.token(secretHash: SecretToken.hash(token)), record.id == id else { throw Refusal.unknown(id) }
        if record.revoked != nil { throw Refusal.revoked(id) }
        if record.expires <= Date() { throw Refusal.expired(id) }
        guard let user = try await broker.store.user(named: record.owner), user.status == .active, await broker.isActive(user.name) else {
            throw Refusal.ownerInactive(id)
        }
        return Caller(user: user, via: .token(id))
    }
}

extension TokenRecord {
    var view: TokenView {
        TokenView(id: id, name: name, owner: owner, created: created.timeIntervalSince1970, expires: expires.timeIntervalSince1970,
                  revoked: revoked?.timeIntervalSince1970)
    }
}
