import Foundation
import HTTPTypes
import Hummingbird
import TandemCore
import TandemText

// Signing in with a one-time link: the page it opens, and the form that spends it.
extension ConsoleRoutes {
    /// A link opens a page that names whose it is and asks; nothing is spent until the person says so.
    func confirmSignIn(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let link = request.uri.queryParameters["link"].map(String.init) ?? ""
        do {
            let user = try await services.console.preview(link: link)
            let nonce = SecretToken.random(bytes: 16).hexString
            let view = SignInPageView(frame: pages.frame("Sign in", context: context), name: ConsoleText.field(user.name, limit: 64),
                                      role: user.role.rawValue, link: link, nonce: nonce)
            var response = pages.render(view, "sign-in")
            ConsoleResponse.setSignInNonce(nonce, on: &response)
            return response
        } catch let why as ConsoleService.Refusal {
            BrokerMetrics.refusal("console_link")
            logger.notice("refused a console sign-in from \(context.peer): \(why.logText)")
            return pages.message(title: "Sign in", text: why.message, status: .unauthorized, context: context)
        }
    }

    /// Spends the link. The answer is a page, not a redirect: a cookie that is `SameSite=Strict` is
    /// sent on the next request only when that request starts on this site. A browser's own
    /// `Sec-Fetch-Site` must say the form was sent from this console (another site cannot sign a
    /// reader in to an account of its choosing); a client that sends none (curl) is not a browser.
    func signIn(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!], site != "same-origin" {
            logger.notice("refused a console sign-in from \(context.peer): a form sent from another site (\(TerminalText.field(site, limit: 32)))")
            return pages.message(title: "Sign in", text: "This sign-in was sent from another site, so it was refused. Open your link yourself.",
                                 status: .forbidden, context: context)
        }
        var request = request
        let fields = (try? ConsoleForm.parse(Array(buffer: try await request.collectBody(upTo: ConsoleForm.maxBytes)))) ?? [:]
        guard let nonce = ConsoleCookie.value(in: request.headers[.cookie], named: ConsoleCookie.signInNonce), let sent = fields["nonce"],
              ConsoleCookie.sameToken(nonce, sent) else {
            logger.notice("refused a console sign-in from \(context.peer): the form did not come from its sign-in page")
            return pages.message(title: "Sign in", text: "This sign-in did not come from its own page (or the page is older than 5 minutes). "
                                 + "Open your link again.", status: .forbidden, context: context)
        }
        do {
            let (cookie, caller) = try await services.console.signIn(link: fields["link"] ?? "")
            // One console session per browser: the one this browser held ends.
            if let old = ConsoleCookie.value(in: request.headers[.cookie]), let previous = try? await services.console.authenticate(cookie: old) {
                try? await services.console.signOut(previous)
            }
            var signed = context
            signed.caller = caller
            signed.consoleCookie = cookie
            var response = pages.message(title: "Signed in", text: "You are signed in for 8 hours (or until you sign out).", status: .ok,
                                         context: signed, link: .init(href: "/console/tickets", label: "Continue to the tickets"))
            response.headers[.init("Refresh")!] = "0; url=/console/tickets"
            ConsoleResponse.setCookie(cookie, on: &response)
            ConsoleResponse.setSignInNonce(nil, on: &response)
            logger.notice("\(TerminalText.field(caller.user.name, limit: 64)) signed in to the console (\(caller.via)) from \(context.peer)")
            return response
        } catch let why as ConsoleService.Refusal {
            BrokerMetrics.refusal("console_link")
            logger.notice("refused a console sign-in from \(context.peer): \(why.logText)")
            return pages.message(title: "Sign in", text: why.message, status: .unauthorized, context: context)
        }
    }
}
