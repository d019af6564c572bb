import Foundation
import TandemCore
import TandemStore

// MARK: - Users disabled or removed while the broker runs

extension Broker {
    /// Whether `name` may act now (the operator may have disabled or removed them since they
    /// logged in). Read from the store, not the watcher's copy, so an enable counts at once too.
    public func isActive(_ name: String) async -> Bool {
        // Fail closed: a store that cannot say is a no.
        guard let user = try? await store.user(named: name) else { return false }
        return user.status == .active
    }

    /// Reads who may no longer log in, and ends their live sessions with that reason.
    /// The `tandemd user` commands run in another process, so the broker looks rather than is told.
    public func refreshUsers() async {
        guard let now = try? await store.inactiveUsers() else { return }
        // Someone else's channels on a session (an admin's) close alone; the session goes on.
        for (id, s) in live {
            for (token, watch) in s.watches where now[watch.user] != nil && watch.user != s.record.technician {
                watch.tell("your account was \(now[watch.user] == .removed ? "removed" : "disabled")", .closed)
                live[id]?.watches[token] = nil
            }
        }
        for (id, s) in live where now[s.record.technician] != nil {
            switch s.lifecycle.state {
            case .pending, .offered, .approved, .active:
                let why = now[s.record.technician] == .removed ? "removed" : "disabled"
                end(id, reason: "the technician's account was \(why)", actor: "operator")
            default:
                continue
            }
        }
    }
}
