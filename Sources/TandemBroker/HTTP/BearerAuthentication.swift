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
            logger.notice("refused API request \(request.method) \(TerminalText.field(request.uri.path, limit: 200)) from \(context.peer): \(why)")
        case .lastOne:
            logger.warning("more than \(RefusalLogBudget.perMinute) refused API requests from \(host) this minute: the rest are counted, not logged")
        case .quiet:
            break
        }
    }
}

/// At most `perMinute` log lines a minute for the refusals of one source: a client guessing
/// tokens must not fill the broker's log. Every refusal is still counted in the metrics.
final class RefusalLogBudget: Sendable {
    static let perMinute = 20
    enum Verdict { case log, lastOne, quiet }
    private let windows = Mutex<[String: (minute: Int, count: Int)]>([:])

    func admit(_ source: String, now: Date = Date()) -> Verdict {
        let minute = Int(now.timeIntervalSince1970 / 60)
        return windows.withLock { windows in
            if windows.count > 4096 { windows = windows.filter { $0.value.minute == minute } }
            var window = windows[source].flatMap { $0.minute == minute ? $0 : nil } ?? (minute: minute, count: 0)
            window.count += 1
            windows[source] = window
            return window.count <= Self.perMinute ? .log : window.count == Self.perMinute + 1 ? .lastOne : .quiet
        }
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
            failure.log("API request \(request.method) \(TerminalText.field(request.uri.path, limit: 200))", to: logger)
            return APIResponse.failure(failure)
        }
    }
}
