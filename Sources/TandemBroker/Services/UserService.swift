import TandemAPI
import TandemCore
import TandemStore

/// People registered at the broker, as the callers see them. Adding, disabling and removing
/// people stays the operator's (`tandemd user`), on the broker's own machine.
public struct UserService: Sendable {
    let broker: Broker

    /// Who the caller is.
    public func me(_ caller: Caller) -> UserView {
        UserView(name: caller.user.name, role: caller.user.role.rawValue)
    }

    /// Everyone, with their status and key fingerprints: admins only.
    public func list(_ caller: Caller) async throws -> [UserView] {
        try await Policy(broker: broker, caller: caller).requireRole([.admin], "list the broker's users", operation: "user.list")
        return try await broker.store.users().map {
            UserView(name: $0.name, role: $0.role.rawValue, status: $0.status.rawValue,
                     keys: $0.publicKeys.map(BrokerIdentity.fingerprint(ofOpenSSHLine:)))
        }
    }
}
