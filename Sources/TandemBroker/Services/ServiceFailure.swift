import Logging
import TandemAPI
import TandemCore
import TandemStore
import TandemText

/// How a service's failure is answered by either adapter: one code, one message, one status each.
struct ServiceFailure {
    let view: ErrorView
    /// The control channel's exit status (the CLI maps them to its own).
    let exitStatus: Int32
    let httpStatus: Int
    /// Why the broker itself failed (5xx), for the operator's log; never sent to the caller.
    let detail: String?

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
        case is StoreError:
            // The detail (paths, SQL) is the operator's; the caller learns what to do.
            self.init("unavailable", "the broker's database failed; try again, and tell its operator if it goes on",
                      exit: 1, http: 503, detail: "\(error)")
        case let refusal as TokenService.Refusal:
            self.init("unauthorized", refusal.message, exit: 3, http: 401)
        case let refusal as ConsoleService.Refusal:
            self.init("unauthorized", refusal.message, exit: 3, http: 401)
        case let refusal as TicketLinks.Refusal:
            switch refusal {
            case .noSuchTicket: self.init("not_found", refusal.description, exit: 1, http: 404)
            case .closed: self.init("conflict", refusal.description, exit: 1, http: 409)
            case .notConfigured: self.init("invalid_request", refusal.description, exit: 2, http: 400)
            case .unreachable(_, _, let why):
                self.init("unavailable", refusal.description, exit: 1, http: 503, detail: why.description)
            }
        default:
            self.init("unavailable", "the broker failed; its operator can read why in its log", exit: 1, http: 500, detail: "\(error)")
        }
    }

    private init(_ code: String, _ message: String, exit: Int32, http: Int, detail: String? = nil) {
        view = ErrorView(code: code, message: message)
        exitStatus = exit
        httpStatus = http
        self.detail = detail
    }

    /// Logs a failure of the broker itself (`what` names the request), so the operator sees every one.
    func log(_ what: String, to logger: Logger) {
        guard let detail else { return }
        logger.error("\(what) failed: \(TerminalText.field(detail, limit: 500))")
    }
}
