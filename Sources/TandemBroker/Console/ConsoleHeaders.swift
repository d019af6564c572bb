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
        } catch {
            response = Self.page(for: error, request: request, context: context, pages: pages, logger: logger)
        }
        ConsoleResponse.secure(&response)
        return response
    }

    /// A failure as a page that says what happened (a failure of the broker itself is logged).
    static func page(for error: any Error, request: Request, context: Context, pages: ConsolePages, logger: Logger) -> Response {
        if let error = error as? HTTPResponseError {
            let message = error.status == .notFound ? "There is no such page." : "This request could not be served (\(error.status.code))."
            return pages.message(title: "Not served", text: message, status: error.status, context: context)
        }
        let failure = ServiceFailure(error)
        failure.log("console \(request.method) \(TerminalText.field(RefusalLogBudget.redacted(request.uri.path), limit: 200))", to: logger)
        return pages.message(title: "Not served", text: ConsoleText.field(failure.view.error.message, limit: 400),
                             status: .init(code: failure.httpStatus), context: context)
    }
}
