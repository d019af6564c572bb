import Foundation
import Hummingbird
import Logging
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
