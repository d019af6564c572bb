/// Errors shared by the three programs; each message says what to do next.
public enum TandemError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidArgument(String)
    case codeUnknown
    case codeExpired
    case codeUsed
    case tooManyAttempts(retryAfterSeconds: Int)
    case refusedByUser
    case frameTooLarge(Int, limit: Int)
    case malformedFrame(String)
    case protocolViolation(String)
    case tls(String)
    case io(String)
    case notFound(String)
    case permissionDenied(String)

    public var description: String {
        switch self {
        case .invalidArgument(let why): return why
        case .codeUnknown: return "That session code is not valid. Check the digits with the technician and try again."
        case .codeExpired: return "That session code has expired. Ask the technician for a new one."
        case .codeUsed: return "That session code was already used. Ask the technician for a new one."
        case .tooManyAttempts(let s): return "Too many wrong codes. Wait \(s) seconds before trying again."
        case .refusedByUser: return "The user refused the session."
        case .frameTooLarge(let n, let limit): return "message of \(n) bytes exceeds the \(limit)-byte limit"
        case .malformedFrame(let why): return "malformed message: \(why)"
        case .protocolViolation(let why): return "protocol violation: \(why)"
        case .tls(let why): return "secure connection failed: \(why)"
        case .io(let why): return why
        case .notFound(let what): return "\(what) not found"
        case .permissionDenied(let why): return "permission denied: \(why)"
        }
    }
}
