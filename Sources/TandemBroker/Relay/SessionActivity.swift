import Dispatch
import Synchronization

/// What crossed a session's relay: when bytes last did, either way (what its idle limit
/// measures), and the files moved (for the summary at its end).
///
/// Touched from the event loops on every read (one atomic store), read by the session's idle watch.
public final class SessionActivity: Sendable {
    private let last = Atomic<UInt64>(SessionActivity.nowMilliseconds())
    private let uploads = Atomic<Int>(0)
    private let downloads = Atomic<Int>(0)

    /// A whole file went one way through SFTP.
    public func fileMoved(upload: Bool) {
        if upload { uploads.add(1, ordering: .relaxed) } else { downloads.add(1, ordering: .relaxed) }
    }

    public var filesMoved: (up: Int, down: Int) { (uploads.load(ordering: .relaxed), downloads.load(ordering: .relaxed)) }

    public init() {}

    public func touch() { last.store(Self.nowMilliseconds(), ordering: .relaxed) }

    /// Seconds since the last byte.
    public var quietSeconds: Double {
        let now = Self.nowMilliseconds()
        let then = last.load(ordering: .relaxed)
        return now > then ? Double(now - then) / 1000 : 0
    }

    /// A clock that wall-clock changes do not move.
    private static func nowMilliseconds() -> UInt64 { DispatchTime.now().uptimeNanoseconds / 1_000_000 }
}
