import Foundation
import Synchronization

/// A shell's output as it is recorded, for people watching it live and read-only (the console).
///
/// The recorder publishes each frame it encodes (on its writer queue, never the relay's event
/// loop). Each watcher may be at most `watcherBytes` behind; one that falls further behind is let
/// go (its stream ends), so no watcher can hold memory, the recording or the relay. A new watcher
/// first gets the screen's recent output, so it sees what the technician sees.
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

    /// One watcher's place: its first screen, its frames, and what it reports as sent.
    public struct Watch: Sendable {
        public let start: Start
        public let frames: AsyncStream<Frame>
        let id: Int
        let feed: LiveFeed

        /// The watcher sent a frame on: that many bytes are no longer behind.
        public func sent(_ frame: Frame) { feed.sent(id, bytes: frame.text.utf8.count) }
        /// Lets the watcher go (its stream ends).
        public func cancel() { feed.drop(id) }
    }

    private struct Watcher {
        var continuation: AsyncStream<Frame>.Continuation
        var behind = 0
    }

    private struct State {
        var columns: Int
        var rows: Int
        /// Recent output, each chunk cut at a character boundary by the recorder.
        var recent: [[UInt8]] = []
        var recentBytes = 0
        var watchers: [Int: Watcher] = [:]
        var nextWatcher = 0
        var finished = false
    }

    /// Recent output kept for a new watcher's first screen: kept for every running shell, watched or
    /// not (2,000 shells hold 32 MiB), and enough for a full screen's redraw.
    static let recentLimit = 16 * 1024
    /// How far behind a watcher may fall before it is let go: with `maxWatchers`, a shell's
    /// watchers hold at most 32 MiB.
    static let watcherBytes = 4 << 20
    /// Watchers of one shell at once.
    public static let maxWatchers = 8
    static let pingInterval: Duration = .seconds(15)

    private let state: Mutex<State>
    private let start = Date()

    public init(columns: Int, rows: Int) {
        state = Mutex(State(columns: max(1, columns), rows: max(1, rows)))
    }

    /// Called by the recorder for each frame it encodes. With nobody watching it only keeps the
    /// recent bytes (no decoding: this runs for every shell); frames are made for watchers only.
    func publish(time: Double, kind: String, bytes: ArraySlice<UInt8>) {
        let size = bytes.count
        let dropped = state.withLock { s -> [AsyncStream<Frame>.Continuation] in
            guard !s.finished else { return [] }
            if kind == "o" {
                s.recent.append(Array(bytes))
                s.recentBytes += size
                while s.recentBytes > Self.recentLimit, s.recent.count > 1 { s.recentBytes -= s.recent.removeFirst().count }
            } else if kind == "r" {
                let parts = String(decoding: bytes, as: UTF8.self).split(separator: "x").compactMap { Int($0) }
                if parts.count == 2, parts.allSatisfy({ (1...10_000).contains($0) }) { (s.columns, s.rows) = (parts[0], parts[1]) }
            }
            guard !s.watchers.isEmpty else { return [] }
            let frame = Frame(time: time, kind: kind, text: String(decoding: bytes, as: UTF8.self))
            // Counted as sent: the text as decoded, which `Watch.sent` gives back.
            let sending = frame.text.utf8.count
            var dropped: [AsyncStream<Frame>.Continuation] = []
            for (id, var watcher) in s.watchers {
                if watcher.behind + sending > Self.watcherBytes {
                    s.watchers[id] = nil
                    dropped.append(watcher.continuation)
                } else {
                    watcher.behind += sending
                    s.watchers[id] = watcher
                    watcher.continuation.yield(frame)
                }
            }
            return dropped
        }
        dropped.forEach { $0.finish() }
    }

    func publish(time: Double, kind: String, text: String) {
        publish(time: time, kind: kind, bytes: ArraySlice(Array(text.utf8)))
    }

    /// A new watcher's first screen and the frames after it; nil once the shell has ended or
    /// `maxWatchers` already watch.
    public func watch() -> Watch? {
        let (stream, continuation) = AsyncStream.makeStream(of: Frame.self)
        let now = Date().timeIntervalSince(start)
        let first: (Int, Start)? = state.withLock { s in
            guard !s.finished, s.watchers.count < Self.maxWatchers else { return nil }
            let id = s.nextWatcher
            s.nextWatcher += 1
            s.watchers[id] = Watcher(continuation: continuation)
            return (id, Start(columns: s.columns, rows: s.rows, time: now, recent: String(decoding: s.recent.joined(), as: UTF8.self)))
        }
        guard let (id, start) = first else {
            continuation.finish()
            return nil
        }
        let pinger = Task {
            while !Task.isCancelled {
                do { try await Task.sleep(for: Self.pingInterval) } catch { return }
                continuation.yield(Frame(time: 0, kind: "ping", text: ""))
            }
        }
        continuation.onTermination = { [weak self] _ in
            pinger.cancel()
            self?.drop(id)
        }
        return Watch(start: start, frames: stream, id: id, feed: self)
    }

    func sent(_ id: Int, bytes: Int) {
        state.withLock { s in s.watchers[id]?.behind -= bytes }
    }

    func drop(_ id: Int) {
        let gone = state.withLock { $0.watchers.removeValue(forKey: id) }
        gone?.continuation.finish()
    }

    /// The shell ended: every watcher's stream ends.
    public func finish() {
        let watchers = state.withLock { s -> [Watcher] in
            s.finished = true
            defer { s.watchers = [:] }
            return Array(s.watchers.values)
        }
        watchers.forEach { $0.continuation.finish() }
    }

    public var isFinished: Bool { state.withLock { $0.finished } }
    var watcherCount: Int { state.withLock { $0.watchers.count } }
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
