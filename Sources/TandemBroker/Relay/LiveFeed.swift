import Foundation
import Synchronization

/// A shell's output as it is recorded, for people watching it live and read-only (the console).
///
/// The recorder publishes each frame it encodes (on its writer queue, never the relay's event
/// loop); each watcher has a bounded buffer that drops its oldest frames when the watcher is slow,
/// so no watcher can hold the recording or the relay back. A new watcher first gets the screen's
/// recent output, so it sees what the technician sees.
public final class LiveFeed: Sendable {
    public struct Frame: Sendable, Equatable {
        /// Seconds since the shell's recording began.
        public var time: Double
        /// `o` output, `r` resize (`COLSxROWS`), or `ping` (every `pingInterval`, nothing to show: the
        /// watcher's connection is checked, and so is the watcher's right to go on watching).
        public var kind: String
        public var text: String
    }

    /// What a watcher is shown first: the terminal's size and its recent output.
    public struct Start: Sendable, Equatable {
        public var columns: Int
        public var rows: Int
        public var time: Double
        public var recent: String
    }

    private struct State {
        var columns: Int
        var rows: Int
        var recent: [String] = []
        var recentBytes = 0
        var watchers: [Int: AsyncStream<Frame>.Continuation] = [:]
        var nextWatcher = 0
        var finished = false
    }

    /// Recent output kept for a new watcher's first screen.
    static let recentLimit = 64 * 1024
    /// Frames a watcher may be behind before its oldest are dropped: with the relay's reads of at
    /// most 64 KiB, a stalled watcher holds at most 8 MiB, and a shell's watchers 64 MiB.
    static let watcherBuffer = 128
    /// Watchers of one shell at once.
    public static let maxWatchers = 8
    static let pingInterval: Duration = .seconds(15)

    private let state: Mutex<State>
    private let start = Date()

    public init(columns: Int, rows: Int) {
        state = Mutex(State(columns: max(1, columns), rows: max(1, rows)))
    }

    func publish(time: Double, kind: String, text: String) {
        let frame = Frame(time: time, kind: kind, text: text)
        state.withLock { s in
            guard !s.finished else { return }
            if kind == "o" {
                s.recent.append(text)
                s.recentBytes += text.utf8.count
                while s.recentBytes > Self.recentLimit, s.recent.count > 1 { s.recentBytes -= s.recent.removeFirst().utf8.count }
            } else if kind == "r" {
                let parts = text.split(separator: "x").compactMap { Int($0) }
                if parts.count == 2, parts.allSatisfy({ (1...10_000).contains($0) }) { (s.columns, s.rows) = (parts[0], parts[1]) }
            }
            for watcher in s.watchers.values { watcher.yield(frame) }
        }
    }

    /// A new watcher's first screen and the frames after it; nil once the shell has ended or
    /// `maxWatchers` already watch.
    public func watch() -> (start: Start, frames: AsyncStream<Frame>)? {
        let (stream, continuation) = AsyncStream.makeStream(of: Frame.self, bufferingPolicy: .bufferingNewest(Self.watcherBuffer))
        let now = Date().timeIntervalSince(start)
        let first: Start? = state.withLock { s in
            guard !s.finished, s.watchers.count < Self.maxWatchers else { return nil }
            let id = s.nextWatcher
            s.nextWatcher += 1
            s.watchers[id] = continuation
            let pinger = Task {
                while !Task.isCancelled {
                    do { try await Task.sleep(for: Self.pingInterval) } catch { return }
                    continuation.yield(Frame(time: 0, kind: "ping", text: ""))
                }
            }
            continuation.onTermination = { [weak self] _ in
                pinger.cancel()
                self?.state.withLock { _ = $0.watchers.removeValue(forKey: id) }
            }
            return Start(columns: s.columns, rows: s.rows, time: now, recent: s.recent.joined())
        }
        guard let first else {
            continuation.finish()
            return nil
        }
        return (first, stream)
    }

    /// The shell ended: every watcher's stream ends.
    public func finish() {
        let watchers = state.withLock { s -> [AsyncStream<Frame>.Continuation] in
            s.finished = true
            defer { s.watchers = [:] }
            return Array(s.watchers.values)
        }
        watchers.forEach { $0.finish() }
    }

    public var isFinished: Bool { state.withLock { $0.finished } }
}

/// The live shells by session: the newest shell of each, while it runs.
public final class LiveFeeds: Sendable {
    private let feeds = Mutex<[String: LiveFeed]>([:])

    public init() {}

    func add(_ session: String, _ feed: LiveFeed) {
        feeds.withLock { $0[session] = feed }
    }

    func remove(_ session: String, _ feed: LiveFeed) {
        feeds.withLock { if $0[session] === feed { $0[session] = nil } }
    }

    public func feed(_ session: String) -> LiveFeed? {
        feeds.withLock { $0[session] }.flatMap { $0.isFinished ? nil : $0 }
    }
}
