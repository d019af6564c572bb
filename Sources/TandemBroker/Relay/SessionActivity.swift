import Dispatch
import Synchronization

/// When bytes last crossed a session's relay, either way: what its idle limit measures.
///
/// Touched from the event loops on every read (one atomic store), read by the session's idle watch.
public final class SessionActivity: Sendable {
    private let last = Atomic<UInt64>(SessionActivity.nowMilliseconds())

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
