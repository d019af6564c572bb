/// Why a helpdesk call did not do what was asked; whether trying again later may help.
public enum HelpdeskError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No connection: refused, no route, TLS failure; the request never left.
    case unreachable(String)
    /// The request left but no answer came (a timeout, a connection cut mid-answer): the helpdesk
    /// may still be storing it.
    case noAnswer(String)
    /// An answer larger than the broker reads (a ticket whose history outgrew the limit).
    case tooLarge(String)
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
        case .unreachable, .noAnswer, .badAnswer: true
        case .status(let code, _): code == 429 || code >= 500
        case .noSuchTicket, .misconfigured, .tooLarge: false
        }
    }

    public var description: String {
        switch self {
        case .unreachable(let why): "the helpdesk could not be reached: \(why)"
        case .noAnswer(let why): "the helpdesk did not answer: \(why)"
        case .tooLarge(let what): "the helpdesk's answer is larger than the broker reads: \(what)"
        case .status(let code, let body): "the helpdesk answered HTTP \(code)" + (body.isEmpty ? "" : ": \(body)")
        case .noSuchTicket(let ticket): "the helpdesk has no ticket \(ticket) (or the broker's credentials cannot see it)"
        case .badAnswer(let why): "the helpdesk's answer was not understood: \(why)"
        case .misconfigured(let why): why
        }
    }
}
