import Foundation

/// The life of one session, as a value: each event returns what the broker must do.
///
/// pending → offered → approved → active → ended, with refused and expired as the
/// other ways out. Kept apart from any connection so it is tested on its own.
public struct SessionLifecycle: Sendable, Equatable {
    public enum State: String, Sendable, Equatable, Codable {
        case pending, offered, approved, active, ended, refused, expired
    }

    public enum Action: Sendable, Equatable {
        case sendOffer
        case reject(TandemError)
        case openSSH
        case notifyRefused
        case announceActive
        case close(reason: String)
        case none
    }

    public private(set) var state: State
    public let expiresAt: Date

    public init(state: State = .pending, expiresAt: Date) {
        self.state = state
        self.expiresAt = expiresAt
    }

    /// The right code arrived from an agent.
    public mutating func redeem(now: Date) -> Action {
        switch state {
        case .pending where now >= expiresAt:
            state = .expired
            return .reject(.codeExpired)
        case .pending:
            state = .offered
            return .sendOffer
        case .expired:
            return .reject(.codeExpired)
        case .offered, .approved, .active, .ended, .refused:
            return .reject(.codeUsed)
        }
    }

    /// The end-user answered the offer.
    public mutating func consent(_ approved: Bool) -> Action {
        guard state == .offered else { return .reject(.protocolViolation("consent outside an offer")) }
        state = approved ? .approved : .refused
        return approved ? .openSSH : .notifyRefused
    }

    /// SSH to the agent is up: the technician may attach.
    public mutating func sshEstablished() -> Action {
        guard state == .approved else { return .none }
        state = .active
        return .announceActive
    }

    /// Either side ended it, or a limit passed.
    public mutating func end(reason: String) -> Action {
        switch state {
        case .ended, .refused, .expired: return .none
        case .pending, .offered:
            state = .expired
            return .close(reason: reason)
        case .approved, .active:
            state = .ended
            return .close(reason: reason)
        }
    }

    /// Whether a pending code has run out by `now` (the reaper's question).
    public mutating func expireIfDue(now: Date) -> Bool {
        guard state == .pending, now >= expiresAt else { return false }
        state = .expired
        return true
    }
}
