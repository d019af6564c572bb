import Synchronization

/// The promise that one submitted event reaches the store: `stored()` waits for the answer.
public final class EventReceipt: Sendable {
    private let state = Mutex<(result: Bool?, waiters: [CheckedContinuation<Bool, Never>])>((nil, []))

    init() {}

    /// A receipt that is already answered (an event that was never submitted).
    static func answered(_ stored: Bool) -> EventReceipt {
        let receipt = EventReceipt()
        receipt.resolve(stored)
        return receipt
    }

    func resolve(_ stored: Bool) {
        let waiters = state.withLock { s -> [CheckedContinuation<Bool, Never>] in
            guard s.result == nil else { return [] }
            s.result = stored
            defer { s.waiters = [] }
            return s.waiters
        }
        for w in waiters { w.resume(returning: stored) }
    }

    /// True once the event is durable; false when it could not be stored.
    public func stored() async -> Bool {
        await withCheckedContinuation { c in
            let now = state.withLock { s -> Bool? in
                if let r = s.result { return r }
                s.waiters.append(c)
                return nil
            }
            if let now { c.resume(returning: now) }
        }
    }
}
