import Synchronization

/// Byte counts and exit status of one relayed channel, shared by its two halves.
///
/// Atomics rather than a lock: the counts are bumped for every chunk on the relay path.
final class RelayCounter: Sendable {
    private let sent = Atomic<Int>(0)
    private let received = Atomic<Int>(0)
    /// Exit status, or -1 while none was seen.
    private let exit = Atomic<Int>(-1)

    func toAgent(_ n: Int) { sent.add(n, ordering: .relaxed) }
    func fromAgent(_ n: Int) { received.add(n, ordering: .relaxed) }

    var exitStatus: Int? {
        get {
            let v = exit.load(ordering: .relaxed)
            return v < 0 ? nil : v
        }
        set { exit.store(newValue ?? -1, ordering: .relaxed) }
    }

    var totals: (toAgent: Int, fromAgent: Int) {
        (sent.load(ordering: .relaxed), received.load(ordering: .relaxed))
    }
}
