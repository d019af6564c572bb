import Foundation
import Hummingbird
import Logging
import Synchronization
import TandemAPI
import TandemText

/// Every API request needs a bearer token (`tandem token new`); a refused one is answered 401 and logged.
struct BearerAuthentication: RouterMiddleware {
    typealias Context = APIRequestContext
    let services: BrokerServices
    let logger: Logger
    let logBudget = RefusalLogBudget()

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let refusal: String
        if let header = request.headers[.authorization], header.hasPrefix("Bearer ") {
            do {
                var context = context
                context.caller = try await services.tokens.authenticate(bearer: String(header.dropFirst(7)))
                return try await next(request, context)
            } catch let why as TokenService.Refusal {
                refusal = why.logText
                BrokerMetrics.refusal("api_token")
                log(request, context, refusal)
                return APIResponse.failure(ServiceFailure(why))
            }
        }
        refusal = "no bearer token"
        log(request, context, refusal)
        return APIResponse.error(ErrorView(code: "unauthorized", message: "this API needs a token: make one with 'tandem token new' "
                                           + "and send it as 'Authorization: Bearer …'"), status: .unauthorized)
    }

    private func log(_ request: Request, _ context: Context, _ why: String) {
        let host = context.peerHost
        switch logBudget.admit(host) {
        case .log:
            logger.notice("refused API request \(request.method) \(TerminalText.field(RefusalLogBudget.redacted(request.uri.path), limit: 200)) from \(context.peer): \(why)")
        case .lastOne:
            logger.warning("too many refused API requests this minute (from \(host) or in all): the rest are counted, not logged")
        case .quiet:
            break
        }
    }
}

/// At most `perMinute` log lines a minute for the refusals of one source, and `allPerMinute`
/// from every source together: a client guessing tokens (from one address or many) must not
/// fill the broker's log. Every refusal is still counted in the metrics.
final class RefusalLogBudget: Sendable {
    static let perMinute = 20
    static let allPerMinute = 200
    static let sourcesKept = 4096
    enum Verdict { case log, lastOne, quiet }
    private struct State {
        var minute = 0
        var all = 0
        var sources: [String: Int] = [:]
    }
    private let state = Mutex(State())

    func admit(_ source: String, now: Date = Date()) -> Verdict {
        let minute = Int(now.timeIntervalSince1970 / 60)
        return state.withLock { state in
            if state.minute != minute { state = State(minute: minute) }
            state.all += 1
            guard state.all <= Self.allPerMinute else { return state.all == Self.allPerMinute + 1 ? .lastOne : .quiet }
            guard state.sources[source] != nil || state.sources.count < Self.sourcesKept else { return .quiet }
            let count = (state.sources[source] ?? 0) + 1
            state.sources[source] = count
            return count <= Self.perMinute ? .log : count == Self.perMinute + 1 ? .lastOne : .quiet
        }
    }

    /// A request path for the log, with any whole token in it cut to its public part.
    static func redacted(_ path: String) -> String {
        path.replacing(/(tok_[0-9a-f]{12})\.[A-Za-z0-9_\-]+/) { "\($0.1).…" }
    }
}

/// Whatever a route or Hummingbird throws is answered as JSON with a message a person can act on.
struct APIErrors: RouterMiddleware {
    typealias Context = APIRequestContext
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPResponseError {
            let message = switch error.status {
            case .notFound: "no such endpoint; see docs/openapi.yaml"
            case .methodNotAllowed: "this endpoint does not take \(request.method)"
            case .contentTooLarge: "the request body is larger than \(ControlRequest.maxRequestBytes) bytes"
            default: "the request could not be served (\(error.status.code))"
            }
            let code = error.status == .contentTooLarge ? "too_large" : error.status == .notFound ? "not_found" : "invalid_request"
            return APIResponse.error(ErrorView(code: code, message: message), status: error.status.code >= 500 ? .internalServerError : error.status)
        } catch {
            let failure = ServiceFailure(error)
            failure.log("API request \(request.method) \(TerminalText.field(RefusalLogBudget.redacted(request.uri.path), limit: 200))", to: logger)
            return APIResponse.failure(failure)
        }
    }
}
