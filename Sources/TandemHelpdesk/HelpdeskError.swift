/// Why a helpdesk call did not do what was asked; whether trying again later may help.
public enum HelpdeskError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No answer: refused connection, timeout, TLS failure, a connection cut mid-answer.
    case unreachable(String)
    /// An HTTP status other than success, with the start of the answer (never the request's credentials).
    case status(Int, String)
    /// The ticket does not exist there (or the credentials may not see it).
    case noSuchTicket(String)
    /// An answer that is not what the API documents.
    case badAnswer(String)
    /// A configuration that cannot work (a URL without a host, a credential over plain HTTP to another machine).
    case misconfigured(String)

    /// Network errors, 429 and 5xx are tried again; any other refusal is final.
    public var isTemporary: Bool {
        switch self {
        // An answer that is not the API's (a proxy's page, a maintenance screen) passes too.
        case .unreachable, .badAnswer: true
        case .status(let code, _): code == 429 || code >= 500
        case .noSuchTicket, .misconfigured: false
        }
    }

    public var description: String {
        switch self {
        case .unreachable(let why): "the helpdesk could not be reached: \(why)"
        case .status(let code, let body): "the helpdesk answered HTTP \(code)" + (body.isEmpty ? "" : ": \(body)")
        case .noSuchTicket(let ticket): "the helpdesk has no ticket \(ticket) (or the broker's credentials cannot see it)"
        case .badAnswer(let why): "the helpdesk's answer was not understood: \(why)"
        case .misconfigured(let why): why
        }
    }
}
