import Hummingbird
import Logging
import TandemAPI
import TandemText

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
