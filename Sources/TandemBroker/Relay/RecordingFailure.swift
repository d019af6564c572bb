import Glibc
import Synchronization
import TandemCore

/// Why a session's recording (or its events) could not be kept: a session that cannot be
/// recorded ends, unless the operator chose `on-recording-failure = continue`.
public enum RecordingFailure: Error, Equatable, Sendable, CustomStringConvertible {
    /// The broker's disk is full (ENOSPC, EDQUOT).
    case storageFull(String)
    /// Any other write error.
    case io(String)
    /// The session used up `max-recording-bytes`.
    case capReached(limit: Int)

    /// From a failed write's errno.
    static func fromErrno(_ code: Int32, _ what: String) -> RecordingFailure {
        let text = "\(what): \(String(cString: strerror(code)))"
        return code == ENOSPC || code == EDQUOT ? .storageFull(text) : .io(text)
    }

    /// Ends new sessions too, until space returns.
    var isStorage: Bool { if case .storageFull = self { return true } else { return false } }

    /// The reason both sides are told (no paths: they are the broker's business).
    public var endReason: String {
        switch self {
        case .storageFull: return "broker storage full: the session could not be recorded"
        case .io: return "the broker could not record the session (write error)"
        case .capReached(let limit): return "the session reached its recording limit (\(ByteCount.format(UInt64(limit), binary: true)))"
        }
    }

    public var description: String {
        switch self {
        case .storageFull(let why): return "storage full (\(why))"
        case .io(let why): return "write error (\(why))"
        case .capReached(let limit): return "recording cap of \(limit) bytes reached"
        }
    }
}

/// What one session may still write to recordings, shared by all its channels.
public final class RecordingBudget: Sendable {
    public let limit: Int
    private let used = Atomic<Int>(0)

    public init(limit: Int) { self.limit = limit }

    /// Takes `bytes` from the budget; false (and nothing taken) when they do not fit.
    public func take(_ bytes: Int) -> Bool {
        var current = used.load(ordering: .relaxed)
        while true {
            guard current + bytes <= limit else { return false }
            let (exchanged, original) = used.compareExchange(expected: current, desired: current + bytes, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
    }
}
