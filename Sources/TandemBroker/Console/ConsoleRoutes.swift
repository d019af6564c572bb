import Foundation
import Hummingbird
import Logging
import TandemAPI
import TandemAudit
import TandemCore
import TandemText
import HTTPTypes

/// The auditor's web console under `/console`: server-rendered pages over the same services
/// as the CLI and the API, with the caller's role and visibility, read without JavaScript.
struct ConsoleRoutes: Sendable {
    let services: BrokerServices
    let pages: ConsolePages
    let assets: ConsoleAssets
    let logger: Logger

    func add(to router: Router<APIRequestContext>) {
        let console = router.group("console").add(middleware: ConsoleHeaders(pages: pages, logger: logger))
        console.get("sign-in") { request, context in try await self.confirmSignIn(request, context) }
        console.post("sign-in") { request, context in try await self.signIn(request, context) }
        console.get("signed-out") { _, context in
            self.pages.message(title: "Signed out", text: "You are signed out of the Tandem console.", status: .ok, context: context)
        }
        console.get("assets/:name") { _, context in self.asset(context) }
        let signedIn = console.group().add(middleware: ConsoleAuthentication(services: services, pages: pages, logger: logger))
        signedIn.get { _, _ in ConsoleResponse.redirect(to: "/console/tickets") }
        signedIn.post("sign-out") { _, context in try await self.signOut(context) }
        signedIn.get("tickets") { request, context in try await self.tickets(request, context) }
        signedIn.get("tickets/:ticket") { _, context in try await self.ticket(context) }
        signedIn.get("tickets/:ticket/record.json") { _, context in try await self.record(context) }
        signedIn.get("sessions/:session") { _, context in try await self.session(context) }
        signedIn.get("sessions/:session/recordings/:cast") { _, context in try await self.recording(context) }
        signedIn.get("sessions/:session/files/:sha256") { _, context in try await self.capturedFile(context) }
        addLive(to: signedIn)
    }

    func signedInCaller(_ context: APIRequestContext) throws -> Caller {
        guard let caller = context.caller else { throw TandemError.permissionDenied("not signed in") }
        return caller
    }

    /// A link opens a page that names whose it is and asks; nothing is spent until the person says so.
    private func confirmSignIn(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let link = request.uri.queryParameters["link"].map(String.init) ?? ""
        do {
            let user = try await services.console.preview(link: link)
            let nonce = SecretToken.random(bytes: 16).hexString
            let view = SignInPageView(frame: pages.frame("Sign in", context: context), name: ConsoleText.field(user.name, limit: 64),
                                      role: user.role.rawValue, link: link, nonce: nonce)
            var response = pages.render(view, "sign-in")
            response.headers.append(HTTPField(name: .setCookie,
                                              value: "\(ConsoleCookie.signInNonce)=\(nonce); Path=/console/sign-in; Max-Age=300; HttpOnly; Secure; SameSite=Strict"))
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
    private func signIn(_ request: Request, _ context: APIRequestContext) async throws -> Response {
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
            response.headers.append(HTTPField(name: .setCookie, value: "\(ConsoleCookie.signInNonce)=; Path=/console/sign-in; Max-Age=0; HttpOnly; Secure; SameSite=Strict"))
            logger.notice("\(TerminalText.field(caller.user.name, limit: 64)) signed in to the console (\(caller.via)) from \(context.peer)")
            return response
        } catch let why as ConsoleService.Refusal {
            BrokerMetrics.refusal("console_link")
            logger.notice("refused a console sign-in from \(context.peer): \(why.logText)")
            return pages.message(title: "Sign in", text: why.message, status: .unauthorized, context: context)
        }
    }

    private func signOut(_ context: APIRequestContext) async throws -> Response {
        try await services.console.signOut(try signedInCaller(context))
        var response = ConsoleResponse.redirect(to: "/console/signed-out")
        ConsoleResponse.setCookie(nil, on: &response)
        return response
    }

    private func asset(_ context: APIRequestContext) -> Response {
        guard let name = context.parameters.get("name"), let file = assets.files[name] else {
            return ConsoleResponse.bytes(Data("no such file\n".utf8), contentType: "text/plain; charset=utf-8", status: .notFound)
        }
        return ConsoleResponse.bytes(file.data, contentType: file.type, cacheable: true)
    }
}
