import Synchronization

/// Byte counts and exit status of one relayed channel, shared by its two halves.
final class RelayCounter: Sendable {
    private let state = Mutex<(toAgent: Int, fromAgent: Int, exit: Int?)>((0, 0, nil))

    func toAgent(_ n: Int) { state.withLock { $0.toAgent += n } }
    func fromAgent(_ n: Int) { state.withLock { $0.fromAgent += n } }

    var exitStatus: Int? {
        get { state.withLock { $0.exit } }
        set { state.withLock { $0.exit = newValue } }
    }

    var totals: (toAgent: Int, fromAgent: Int) {
        state.withLock { ($0.toAgent, $0.fromAgent) }
    }
}
