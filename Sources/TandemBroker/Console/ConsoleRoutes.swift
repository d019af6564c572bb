import Foundation
import Hummingbird
import Logging
import TandemCore

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
