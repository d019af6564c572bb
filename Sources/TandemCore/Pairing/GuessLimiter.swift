import Foundation

/// Counts wrong session-code guesses per source and broker-wide within a sliding window.
///
/// Once a source is over its limit every guess from it is refused, even the right
/// code, until the window passes: otherwise the limit would only slow a brute force.
/// The broker-wide limit protects every pending session from many sources at once.
public struct GuessLimiter: Sendable {
    public struct Limits: Sendable {
        public var perSource: Int
        public var global: Int
        public var window: TimeInterval
        public init(perSource: Int = 5, global: Int = 100, window: TimeInterval = 300) {
            self.perSource = perSource
            self.global = global
            self.window = window
        }
    }

    public let limits: Limits
    private var failuresBySource: [String: [Date]] = [:]
    private var globalFailures: [Date] = []

    public init(limits: Limits = Limits()) { self.limits = limits }

    /// Seconds until `source` may guess again, or nil when it may guess now.
    public mutating func blockedFor(source: String, now: Date) -> Int? {
        prune(now: now)
        let mine = failuresBySource[source] ?? []
        if mine.count >= limits.perSource, let oldest = mine.first {
            return max(1, Int((oldest.addingTimeInterval(limits.window).timeIntervalSince(now)).rounded(.up)))
        }
        if globalFailures.count >= limits.global, let oldest = globalFailures.first {
            return max(1, Int((oldest.addingTimeInterval(limits.window).timeIntervalSince(now)).rounded(.up)))
        }
        return nil
    }

    public mutating func recordFailure(source: String, now: Date) {
        prune(now: now)
        failuresBySource[source, default: []].append(now)
        globalFailures.append(now)
    }

    private mutating func prune(now: Date) {
        let cutoff = now.addingTimeInterval(-limits.window)
        globalFailures.removeAll { $0 <= cutoff }
        for (key, dates) in failuresBySource {
            let kept = dates.filter { $0 > cutoff }
            failuresBySource[key] = kept.isEmpty ? nil : kept
        }
    }
}
