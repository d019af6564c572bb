import Hummingbird
import Logging
import TandemText

/// Every console response carries the security headers, and whatever a route throws becomes a
/// page that says what happened, never a JSON body or a stack of details.
struct ConsoleHeaders: RouterMiddleware {
    typealias Context = APIRequestContext
    let pages: ConsolePages
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as HTTPResponseError {
            let message = error.status == .notFound ? "There is no such page." : "This request could not be served (\(error.status.code))."
            response = pages.message(title: "Not served", text: message, status: error.status, context: context)
        } catch {
            let failure = ServiceFailure(error)
            failure.log("console \(request.method) \(TerminalText.field(RefusalLogBudget.redacted(request.uri.path), limit: 200))", to: logger)
            response = pages.message(title: "Not served", text: failure.view.error.message, status: .init(code: failure.httpStatus), context: context)
        }
        ConsoleResponse.secure(&response)
        return response
    }
}
