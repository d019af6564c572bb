import TandemAPI
import TandemCore
import TandemStore

/// How a service's failure is answered by either adapter: one code, one message, one status each.
struct ServiceFailure {
    let view: ErrorView
    /// The control channel's exit status (the CLI maps them to its own).
    let exitStatus: Int32
    let httpStatus: Int

    init(_ error: any Error) {
        switch error {
        case let error as TandemError:
            switch error {
            case .invalidArgument, .malformedFrame, .protocolViolation:
                self.init("invalid_request", error.description, exit: 2, http: 400)
            case .frameTooLarge: self.init("too_large", error.description, exit: 2, http: 413)
            case .permissionDenied: self.init("forbidden", error.description, exit: 3, http: 403)
            case .notFound: self.init("not_found", error.description, exit: 1, http: 404)
            case .io: self.init("unavailable", error.description, exit: 1, http: 503)
            default: self.init("conflict", error.description, exit: 1, http: 409)
            }
        case let error as StoreError:
            self.init("unavailable", "the broker's database failed: \(error)", exit: 1, http: 503)
        case let refusal as TokenService.Refusal:
            self.init("unauthorized", refusal.message, exit: 3, http: 401)
        default:
            self.init("unavailable", "the broker failed: \(error)", exit: 1, http: 500)
        }
    }

    private init(_ code: String, _ message: String, exit: Int32, http: Int) {
        view = ErrorView(code: code, message: message)
        exitStatus = exit
        httpStatus = http
    }
}
