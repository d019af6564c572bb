import Foundation
import TandemAPI
import TandemAudit
import TandemCore
import TandemStore
import TandemText

/// Sessions running now: listed, watched read-only, and ended with a reason, by auditors and
/// admins (ending: admins only). Every watch and every end is an event on the session.
extension SessionService {
    public func live(_ caller: Caller) async throws -> [LiveSessionView] {
        try await Policy(broker: broker, caller: caller).requireRole([.auditor, .admin], "see the sessions running now", operation: "session.live")
        return try await broker.store.openSessions().filter { $0.state == .active }.map { s in
            LiveSessionView(id: s.id.rawValue, ticket: s.ticketID, technician: s.technician, since: s.created.timeIntervalSince1970,
                            watchable: broker.liveFeeds.feed(s.id.rawValue) != nil)
        }
    }

    /// The running shell's first screen and what follows, as the broker's `live-watch` policy
    /// allows: the end-user is told (or asked), and the watch is on record before it begins.
    public func watch(_ caller: Caller, _ id: SessionID) async throws -> SessionWatch {
        let policy = Policy(broker: broker, caller: caller)
        try await policy.requireRole([.auditor, .admin], "watch a session live", operation: "session.watch")
        _ = try await policy.visibleSession(id, operation: "session.watch", content: true)
        let joined = try await broker.join(id, user: caller.user.name, role: caller.user.role, pair: false, via: "console", told: { _ in })
        let broker = self.broker
        return SessionWatch(watch: joined.watch, leave: { await broker.leave(id, token: joined.token) })
    }

    /// An admin ends a session with the reason both sides are shown and the record keeps.
    public func end(_ caller: Caller, _ id: SessionID, reason: String) async throws -> SessionEnded {
        let policy = Policy(broker: broker, caller: caller)
        try await policy.requireRole([.admin], "end a session from the console", operation: "session.end")
        let text = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...200).contains(text.count), TerminalText.firstControl(in: text) == nil else {
            throw TandemError.invalidArgument("a reason takes 1 to 200 characters, without control characters")
        }
        let full = "ended by admin \(caller.user.name): \(text)"
        guard await broker.session(id) != nil else {
            guard let stored = try await broker.store.session(id: id) else { throw TandemError.notFound("session \(id)") }
            if await broker.heldElsewhere(stored) {
                return SessionEnded(session: id.rawValue, alreadyOver: false,
                                    reason: try await broker.endElsewhere(stored, reason: full, actor: caller.user.name))
            }
            return SessionEnded(session: id.rawValue, alreadyOver: true, reason: stored.endReason ?? stored.state.rawValue)
        }
        guard await broker.end(id, reason: full, actor: caller.user.name).stored() else {
            throw TandemError.io("session \(id) ended, but the broker could not record its end; its operator has been told")
        }
        return SessionEnded(session: id.rawValue, alreadyOver: false, reason: full)
    }
}

/// A watch from the console: its frames, and how it ends (on record, and the others told).
public struct SessionWatch: Sendable {
    public let watch: LiveFeed.Watch
    public let leave: @Sendable () async -> Void
}

extension SessionService {
    /// Whether the caller may watch sessions at all (the watch page asks before it shows anything).
    public func mayWatch(_ caller: Caller) async throws {
        try await Policy(broker: broker, caller: caller).requireRole([.auditor, .admin], "watch a session live", operation: "session.watch")
    }
}
