import Foundation

/// Counts wrong session-code guesses per source and broker-wide within a sliding window.
///
/// Once a source is over its limit every guess from it is refused, even the right code,
/// until the window passes: otherwise the limit would only slow a brute force. Once the
/// whole broker is over its limit, every source that already guessed wrong in the window
/// is refused too, but a source with no wrong guess may still try: a flood from many
/// addresses then costs its senders one guess each per window, and never locks out a user
/// who types the right code from their own machine (docs/threat-model.md has the numbers).
///
/// Refused attempts are not each an event: the first refusal of a block is, and the rest
/// are counted and handed over as one `Summary` when the block ends.
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

    /// What happens to one join attempt before its code is looked at.
    public enum Admission: Equatable, Sendable {
        case allowed
        /// Refused unseen; `firstOfBlock` is true once per block, for the one recorded event.
        case refused(retryAfterSeconds: Int, firstOfBlock: Bool)
    }

    /// Refusals of one source that were counted rather than recorded one by one.
    public struct Summary: Equatable, Sendable {
        public var source: String
        public var count: Int
        public var from: Date
        public var to: Date
    }

    private struct Block: Sendable {
        var first: Date
        var last: Date
        var suppressed = 0
        /// Set when the refusal was decided elsewhere (several brokers count together).
        var until: Date?
    }

    public let limits: Limits
    private var failuresBySource: [String: [Date]] = [:]
    /// Every counted wrong guess, oldest first from `head`: pruning pops what left the window,
    /// so a flood from many sources costs each attempt only what expired, not a walk over all sources.
    private var failures: [(time: Date, source: String)] = []
    private var head = 0
    private var blocks: [String: Block] = [:]

    private var globalCount: Int { failures.count - head }

    public init(limits: Limits = Limits()) { self.limits = limits }

    public mutating func admit(source: String, now: Date) -> Admission {
        prune(now: now)
        guard let wait = blockedFor(source: source, now: now) else { return .allowed }
        if var block = blocks[source] {
            block.suppressed += 1
            block.last = now
            blocks[source] = block
            return .refused(retryAfterSeconds: wait, firstOfBlock: false)
        }
        blocks[source] = Block(first: now, last: now)
        return .refused(retryAfterSeconds: wait, firstOfBlock: true)
    }

    /// A refusal decided elsewhere (the count several brokers share): kept here as a block until
    /// `retryAfterSeconds` pass, so that it too is put on record once per block and later guesses
    /// from the source are refused without asking again.
    public mutating func refuse(source: String, now: Date, retryAfterSeconds: Int) -> Admission {
        let until = now.addingTimeInterval(TimeInterval(retryAfterSeconds))
        if var block = blocks[source] {
            block.suppressed += 1
            block.last = now
            block.until = max(block.until ?? until, until)
            blocks[source] = block
            return .refused(retryAfterSeconds: retryAfterSeconds, firstOfBlock: false)
        }
        blocks[source] = Block(first: now, last: now, until: until)
        return .refused(retryAfterSeconds: retryAfterSeconds, firstOfBlock: true)
    }

    public mutating func recordFailure(source: String, now: Date) {
        prune(now: now)
        failuresBySource[source, default: []].append(now)
        failures.append((now, source))
    }

    /// What a source is counted as: an IPv6 address by its /64 (one subscriber's whole network),
    /// an IPv4-mapped one as its IPv4 address, anything else as it is.
    public static func sourceKey(_ address: String) -> String {
        guard address.contains(":") else { return address }
        var raw = in6_addr()
        guard inet_pton(AF_INET6, address, &raw) == 1 else { return address }
        let b = withUnsafeBytes(of: raw) { Array($0) }
        if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xff && b[11] == 0xff { return "\(b[12]).\(b[13]).\(b[14]).\(b[15])" }
        let groups = stride(from: 0, to: 8, by: 2).map { String(UInt16(b[$0]) << 8 | UInt16(b[$0 + 1]), radix: 16) }
        return groups.joined(separator: ":") + "::/64"
    }

    /// The counted refusals of every block that has ended (all blocks when `all`, at shutdown).
    public mutating func takeSummaries(now: Date, all: Bool = false) -> [Summary] {
        prune(now: now)
        var out: [Summary] = []
        for (source, block) in blocks.sorted(by: { $0.key < $1.key }) where all || blockedFor(source: source, now: now) == nil {
            blocks[source] = nil
            if block.suppressed > 0 {
                out.append(Summary(source: source, count: block.suppressed, from: block.first, to: block.last))
            }
        }
        return out
    }

    /// Wrong guesses still counted against `source` (tests and docs).
    public func failures(of source: String) -> Int { failuresBySource[source]?.count ?? 0 }

    private func blockedFor(source: String, now: Date) -> Int? {
        let local = blockedHere(source: source, now: now)
        guard let until = blocks[source]?.until, until > now else { return local }
        return max(local ?? 1, Int(until.timeIntervalSince(now).rounded(.up)))
    }

    private func blockedHere(source: String, now: Date) -> Int? {
        let mine = failuresBySource[source] ?? []
        guard let oldest = mine.first else { return nil }
        guard mine.count >= limits.perSource || globalCount >= limits.global else { return nil }
        // Either way the source is free again once its own oldest wrong guess leaves the window.
        return max(1, Int(oldest.addingTimeInterval(limits.window).timeIntervalSince(now).rounded(.up)))
    }

    private mutating func prune(now: Date) {
        let cutoff = now.addingTimeInterval(-limits.window)
        while head < failures.count, failures[head].time <= cutoff {
            let source = failures[head].source
            head += 1
            if var dates = failuresBySource[source], !dates.isEmpty {
                dates.removeFirst()
                failuresBySource[source] = dates.isEmpty ? nil : dates
            }
        }
        if head > 1024 && head * 2 > failures.count {
            failures.removeFirst(head)
            head = 0
        }
    }
}
