import Hummingbird
import Logging
import TandemText

/// The console's pages need a console session cookie (from `tandem console`); a form sent to
/// them also needs its CSRF token. Refusals get a page that says how to sign in, and a log line.
struct ConsoleAuthentication: RouterMiddleware {
    typealias Context = APIRequestContext
    let services: BrokerServices
    let pages: ConsolePages
    let logger: Logger
    let logBudget = RefusalLogBudget()

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let cookie = ConsoleCookie.value(in: request.headers[.cookie]) else {
            log(request, context, "no console cookie")
            return signInPage(ConsoleService.Refusal.ended("-").message, context: context, clear: false)
        }
        var context = context
        do {
            context.caller = try await services.console.authenticate(cookie: cookie)
        } catch let why as ConsoleService.Refusal {
            BrokerMetrics.refusal("console_cookie")
            log(request, context, why.logText)
            return signInPage(why.message, context: context, clear: true)
        }
        context.consoleCookie = cookie
        if request.method != .get && request.method != .head {
            var request = request
            // A form's fields are checked here, before any route acts on them.
            let body = try await request.collectBody(upTo: ConsoleForm.maxBytes)
            let fields = (try? ConsoleForm.parse(Array(buffer: body))) ?? [:]
            let origin = request.headers[.origin]
            guard let token = fields["csrf"], ConsoleCookie.sameToken(token, ConsoleCookie.csrfToken(for: cookie)),
                  origin.map(Self.sameOrigin(request)) ?? true else {
                log(request, context, "a form without its CSRF token (or from another origin)")
                return pages.message(title: "Refused", text: "This form was not sent from a console page (its CSRF token is missing or wrong). "
                                     + "Reload the page and try again.", status: .forbidden, context: context)
            }
            context.form = fields
            return await answer(request, context, next)
        }
        return await answer(request, context, next)
    }

    /// A refusal or failure is a page with the reader's own bar (who is signed in, sign out).
    private func answer(_ request: Request, _ context: Context, _ next: (Request, Context) async throws -> Response) async -> Response {
        do {
            return try await next(request, context)
        } catch {
            return ConsoleHeaders.page(for: error, request: request, context: context, pages: pages, logger: logger)
        }
    }

    /// An Origin header, when the browser sends one, must be the console's own. With the pages'
    /// `Referrer-Policy: no-referrer` a browser sends `null` for the console's own forms, so
    /// `null` says nothing either way: the CSRF token decides.
    static func sameOrigin(_ request: Request) -> (String) -> Bool {
        { origin in
            if origin == "null" { return true }
            guard let host = request.head.authority else { return false }
            return origin == "https://" + host
        }
    }

    private func signInPage(_ text: String, context: Context, clear: Bool) -> Response {
        var response = pages.message(title: "Sign in", text: text + " (On your own computer: tandem console)", status: .unauthorized, context: context)
        if clear { ConsoleResponse.setCookie(nil, on: &response) }
        return response
    }

    private func log(_ request: Request, _ context: Context, _ why: String) {
        switch logBudget.admit(context.peerHost) {
        case .log:
            logger.notice("refused console \(request.method) \(TerminalText.field(RefusalLogBudget.redacted(request.uri.path), limit: 200)) from \(context.peer): \(why)")
        case .lastOne:
            logger.warning("too many refused console requests this minute (from \(context.peerHost) or in all): the rest are counted, not logged")
        case .quiet:
            break
        }
    }
}
