@preconcurrency import Crypto
import Foundation
import Glibc
import NIOCore
import Synchronization
import TandemAudit
import TandemCore
import TandemText

/// Writes one shell channel as an asciicast v2 file, off the relay's event loop.
///
/// The relay hands over its `ByteBuffer`s (shared, not copied) and never waits: encoding,
/// hashing and file I/O happen on the `RecordingWriter`'s queue, and lines are written
/// in batches (64 KiB, or half a second after the first unwritten line) rather than one
/// system call per keystroke. When finished, the file is renamed to its SHA-256 so the
/// event that names it covers its content.
///
/// A write that fails (disk full, I/O error) or would pass the session's recording budget
/// stops the recording where it is: what is on disk stays hashed and named, and `onFailure`
/// is called once, so the broker can end the session. Nothing here can trap.
public final class AsciicastRecorder: @unchecked Sendable {
    // Unchecked: everything below `queue` is only touched on `queue`.
    private let directory: String
    private let partPath: String
    private let queue: DispatchQueue
    private let start: Date
    private var fd: Int32
    private var hasher = SHA256()
    private var size = 0
    private var batch: [UInt8] = []
    private var finished = false
    private let budget: RecordingBudget?
    private let onFailure: @Sendable (RecordingFailure) -> Void
    /// Watchers of this shell, live (the console); fed from the writer queue.
    public let live: LiveFeed?
    /// Set by the first failed write; nothing is written after it.
    private var failure: RecordingFailure?
    /// Bytes of a UTF-8 character split across reads, per stream, kept for the next chunk.
    private var carry: [String: [UInt8]] = [:]
    /// Chunks handed over by the relay and not yet encoded (any thread; see `append`).
    private let inbox = Mutex(Inbox())

    struct Inbox {
        var chunks: [(time: Double, kind: String, bytes: ByteBuffer)] = []
        var bytes = 0
        var drainQueued = false
        /// Relays that stopped reading until this recording catches up.
        var waiters: [@Sendable () -> Void] = []
    }

    /// Most output handed over and not yet written before the relay is asked to stop reading:
    /// an agent that sends faster than the disk takes must not fill the broker's memory.
    static let backlogLimit = 16 << 20

    static let batchBytes = 64 * 1024

    private static let lastStamp = Mutex(0)

    /// Milliseconds since 1970 for a recording's name, never the same twice in this process: two
    /// commands of one session started in the same millisecond must not both claim one file.
    public static func uniqueStamp(now: Date = Date()) -> Int {
        lastStamp.withLock { last in
            last = max(Int(now.timeIntervalSince1970 * 1000), last + 1)
            return last
        }
    }

    /// `parts` holds the file while it is written (by default `directory`): among replicas sharing
    /// one recordings folder, each writes in its own, and only its own is finished after a crash.
    public init(directory: String, parts: String? = nil, name: String, columns: Int, rows: Int, term: String, title: String,
                budget: RecordingBudget? = nil, live: LiveFeed? = nil, onFailure: @escaping @Sendable (RecordingFailure) -> Void = { _ in }) throws {
        self.live = live
        self.directory = directory
        self.budget = budget
        self.onFailure = onFailure
        partPath = (parts ?? directory) + "/" + name + ".part"
        fd = open(partPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw RecordingFailure.fromErrno(errno, "cannot create a recording") }
        start = Date()
        queue = RecordingWriter.shared.queue
        let header: [String: Any] = [
            "version": 2, "width": max(1, columns), "height": max(1, rows),
            "timestamp": Int(start.timeIntervalSince1970), "title": title, "env": ["TERM": term, "SHELL": "/bin/sh"],
        ]
        let data = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Queued, not waited for: the writer may be busy with another recording's backlog, and a
        // new session must not wait for it (nor hold a thread of the caller's while it does).
        let line = Array(data)
        queue.async { self.addLine(line) }
    }

    /// Hands output over; false when the backlog passed `backlogLimit`: the relay stops reading
    /// and asks `whenCaughtUp` when to go on.
    @discardableResult
    public func output(_ bytes: ByteBuffer) -> Bool {
        append("o", bytes)
        return inbox.withLock { $0.bytes } <= Self.backlogLimit
    }

    /// Calls `action` (on the writer's queue, or here at once) once the backlog has been written.
    public func whenCaughtUp(_ action: @escaping @Sendable () -> Void) {
        let now = inbox.withLock { box -> Bool in
            guard box.bytes > Self.backlogLimit else { return true }
            box.waiters.append(action)
            return false
        }
        if now { action() }
    }

    public func input(_ bytes: ByteBuffer) { append("i", bytes) }

    public func resize(columns: Int, rows: Int) {
        append("r", ByteBuffer(string: "\(columns)x\(rows)"))
    }

    /// Flushes, closes and renames the file to `<sha256>.cast`; returns the hash and size
    /// (of what reached the disk, when the recording stopped early: `failure` says why).
    public func finish() -> (sha256: String, bytes: Int, failure: RecordingFailure?)? {
        queue.sync {
            drain()
            for (kind, rest) in carry.sorted(by: { $0.key < $1.key }) where !rest.isEmpty {
                addLine(Self.frame(time: Date().timeIntervalSince(start), kind: kind, text: rest))
            }
            carry.removeAll()
            writeBatch()
            live?.finish()
            RecordingWriter.shared.forget(self)
            finished = true
            if failure == nil && fsync(fd) != 0 { fail(.fromErrno(errno, "cannot flush the recording")) }
            close(fd)
            fd = -1
            let sha = hasher.finalize().hexString
            guard (try? Self.name(partPath, sha256: sha, in: directory)) != nil else { return nil }
            return (sha, size, failure)
        }
    }

    /// `finish` on a thread of its own: it waits for the writer, which may have seconds of another
    /// recording's output before this one's, and must not hold a Swift concurrency thread meanwhile.
    public func finishOffThread() async -> (sha256: String, bytes: Int, failure: RecordingFailure?)? {
        await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .utility).async { continuation.resume(returning: self.finish()) }
        }
    }

    /// Puts a finished recording at `<sha256>.cast`, so the event that names it covers its content;
    /// the same content already there (a recording made twice) needs no second copy.
    static func name(_ partPath: String, sha256: String, in directory: String) throws {
        let final = directory + "/" + sha256 + ".cast"
        if FileManager.default.fileExists(atPath: final) {
            try FileManager.default.removeItem(atPath: partPath)
        } else {
            try FileManager.default.moveItem(atPath: partPath, toPath: final)
        }
    }

    /// Takes the chunk with its time and returns at once. The writer collects every recorder's
    /// chunks once per tick, so thousands of sessions typing wake it ten times a second, not
    /// once per keystroke each; a recorder with over 1 MiB waiting is collected at once.
    private func append(_ kind: String, _ bytes: ByteBuffer) {
        let t = Date().timeIntervalSince(start)
        let (first, full) = inbox.withLock { box -> (Bool, Bool) in
            box.chunks.append((t, kind, bytes))
            box.bytes += bytes.readableBytes
            let full = box.bytes > Self.inboxLimit && !box.drainQueued
            if full { box.drainQueued = true }
            return (box.chunks.count == 1, full)
        }
        if full {
            queue.async { [self] in drain() }
        } else if first {
            RecordingWriter.shared.collect(self)
        }
    }

    static let inboxLimit = 1 << 20

    /// Call on `queue`: encodes what the relay handed over.
    func drain() {
        let (chunks, waiters) = inbox.withLock { box in
            defer { box = Inbox() }
            return (box.chunks, box.waiters)
        }
        // Once what was taken is written (or given up on), the relays go on.
        defer { for waiter in waiters { waiter() } }
        for (t, kind, bytes) in chunks {
            var text = carry.removeValue(forKey: kind) ?? []
            text.append(contentsOf: bytes.readableBytesView)
            let cut = UTF8Boundary.completePrefix(text)
            if cut < text.count { carry[kind] = Array(text[cut...]) }
            guard cut > 0 else { continue }
            addLine(Self.frame(time: t, kind: kind, text: text[..<cut]))
            if let live, kind != "i" { live.publish(time: t, kind: kind, bytes: text[..<cut]) }
        }
    }

    /// `[time, "kind", "text"]`, with invalid UTF-8 replaced so the line stays valid JSON.
    static func frame<C: Collection>(time: Double, kind: String, text: C) -> [UInt8] where C.Element == UInt8 {
        var line = Array("[\((time * 1_000_000).rounded() / 1_000_000), \"\(kind)\", ".utf8)
        line.reserveCapacity(line.count + text.count + text.count / 2 + 8)
        let done: Void? = text.withContiguousStorageIfAvailable { JSONEscaping.appendQuotedRepairing($0, to: &line) }
        if done == nil { ContiguousArray(text).withUnsafeBufferPointer { JSONEscaping.appendQuotedRepairing($0, to: &line) } }
        line.append(UInt8(ascii: "]"))
        return line
    }

    private func addLine(_ json: [UInt8]) {
        guard !finished else { return }
        batch.append(contentsOf: json)
        batch.append(UInt8(ascii: "\n"))
        if batch.count >= Self.batchBytes {
            writeBatch()
        } else {
            RecordingWriter.shared.markDirty(self)
        }
    }

    /// Call on `queue`. Only bytes that reached the file are hashed and counted.
    func writeBatch() {
        guard !batch.isEmpty else { return }
        defer { batch.removeAll(keepingCapacity: true) }
        guard failure == nil, fd >= 0 else { return }
        if let budget, !budget.take(batch.count) { return fail(.capReached(limit: budget.limit)) }
        let (written, error) = batch.withUnsafeBytes { writeCounting(fd, $0) }
        hasher.update(data: batch[..<written])
        size += written
        if let error { fail(.fromErrno(error, "cannot write a recording")) }
    }

    private func fail(_ why: RecordingFailure) {
        guard failure == nil else { return }
        failure = why
        onFailure(why)
    }
}
