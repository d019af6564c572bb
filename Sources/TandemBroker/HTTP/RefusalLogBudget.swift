import Foundation
import Synchronization

/// At most `perMinute` log lines a minute for the refusals of one source, and `allPerMinute`
/// from every source together: a client guessing tokens (from one address or many) must not
/// fill the broker's log. Every refusal is still counted in the metrics.
final class RefusalLogBudget: Sendable {
    static let perMinute = 20
    static let allPerMinute = 200
    static let sourcesKept = 4096
    enum Verdict { case log, lastOne, quiet }
    private struct State {
        var minute = 0
        var all = 0
        var sources: [String: Int] = [:]
    }
    private let state = Mutex(State())

    func admit(_ source: String, now: Date = Date()) -> Verdict {
        let minute = Int(now.timeIntervalSince1970 / 60)
        return state.withLock { state in
            if state.minute != minute { state = State(minute: minute) }
            state.all += 1
            guard state.all <= Self.allPerMinute else { return state.all == Self.allPerMinute + 1 ? .lastOne : .quiet }
            guard state.sources[source] != nil || state.sources.count < Self.sourcesKept else { return .quiet }
            let count = (state.sources[source] ?? 0) + 1
            state.sources[source] = count
            return count <= Self.perMinute ? .log : count == Self.perMinute + 1 ? .lastOne : .quiet
        }
    }

    /// A request path for the log, with any whole token, sign-in link or console cookie in it cut to its public part.
    static func redacted(_ path: String) -> String {
        path.replacing(/((?:tok|lnk|con)_[0-9a-f]{12})\.[A-Za-z0-9_\-]+/) { "\($0.1).…" }
    }
}
