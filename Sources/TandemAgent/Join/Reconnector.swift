import Foundation
import Synchronization

/// Gets the agent back to the broker after its connection dropped, in the background: the SSH
/// thread starts it, goes on serving the processes, and takes the new connection when it is there.
final class Reconnector: Sendable {
    enum Outcome: Sendable {
        /// A new stream to the broker, past the resume: SSH starts on it.
        case connected(Int32)
        /// The broker will not take the session back.
        case refused(String)
    }

    /// One attempt: an outcome, or nil to try again (the broker is not reachable yet).
    private let attempt: @Sendable () async -> Outcome?
    private struct State {
        var task: Task<Void, Never>?
        var result: Outcome?
    }
    private let state = Mutex(State())

    init(attempt: @escaping @Sendable () async -> Outcome?) {
        self.attempt = attempt
    }

    /// Starts trying (once a second, then every few seconds) until it connects or is refused.
    func begin() {
        let attempt = self.attempt
        let task = Task { [weak self] in
            var wait = 1.0
            while !Task.isCancelled {
                if let outcome = await attempt() {
                    self?.state.withLock { $0.result = outcome }
                    return
                }
                try? await Task.sleep(for: .seconds(wait))
                wait = min(wait * 1.5, 5)
            }
        }
        state.withLock { s in
            s.task?.cancel()
            s.task = task
            s.result = nil
        }
    }

    /// The outcome, once there is one (taken once).
    func take() -> Outcome? {
        state.withLock { s in
            defer { s.result = nil }
            return s.result
        }
    }

    func cancel() {
        state.withLock { $0.task?.cancel() }
    }
}
