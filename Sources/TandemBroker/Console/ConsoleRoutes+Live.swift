import Foundation
import Hummingbird
import NIOCore
import TandemAPI
import TandemAudit
import TandemCore

// Sessions running now: the list, watching one (a server-sent event stream the player reads),
// and an admin ending one with a reason.
extension ConsoleRoutes {
    func addLive(to signedIn: RouterGroup<APIRequestContext>) {
        signedIn.get("live") { _, context in try await self.live(context) }
        signedIn.get("sessions/:session/live") { _, context in try await self.watchPage(context) }
        signedIn.get("sessions/:session/live/stream") { _, context in try await self.stream(context) }
        signedIn.post("sessions/:session/end") { _, context in try await self.endSession(context) }
    }

    func live(_ context: APIRequestContext) async throws -> Response {
        let sessions = try await services.sessions.live(try signedInCaller(context))
        let view = LivePageView(frame: pages.frame("Live sessions", context: context), sessions: sessions.map(LivePageView.Row.init),
                                hasSessions: !sessions.isEmpty)
        return pages.render(view, "live")
    }

    func watchPage(_ context: APIRequestContext) async throws -> Response {
        let caller = try signedInCaller(context)
        let id = try SessionID.parse(context.parameters.get("session") ?? "")
        try await services.sessions.mayWatch(caller)
        let session = try await services.sessions.show(caller, id)
        guard session.state == "active" else {
            return pages.message(title: "Session \(id)", text: "This session is not running (it is \(session.state)); its record is on its page.",
                                 status: .ok, context: context, link: .init(href: "/console/sessions/\(id.rawValue)", label: "Session \(id.rawValue)"))
        }
        let view = WatchPageView(frame: pages.frame("Watching session \(id)", context: context, player: assets.hasPlayer), id: id.rawValue,
                                 ticket: session.ticket, technician: ConsoleText.field(session.technician, limit: 64),
                                 canEnd: caller.user.role == .admin, csrf: context.consoleCookie.map(ConsoleCookie.csrfToken) ?? "")
        return pages.render(view, "watch")
    }

    /// Server-sent events in the form asciinema-player's `eventsource` driver reads: a first
    /// message with the terminal's size and recent output, then `[time, "o", text]` frames, then `done`.
    func stream(_ context: APIRequestContext) async throws -> Response {
        let caller = try signedInCaller(context)
        let id = try SessionID.parse(context.parameters.get("session") ?? "")
        let joined = try await services.sessions.watch(caller, id)
        let watch = joined.watch
        let start = watch.start
        let cookie = context.consoleCookie ?? ""
        let console = services.console
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream; charset=utf-8"
        headers[.cacheControl] = "no-store"
        let body = ResponseBody { writer in
            // However the stream ends (the shell, the reader gone, a write that failed), its place is given back.
            defer {
                watch.cancel()
                Task { await joined.leave() }
            }
            var first = Array(#"retry: 5000\#ndata: {"cols":\#(start.columns),"rows":\#(start.rows),"time":\#(start.time),"init":"#.utf8)
            JSONEscaping.appendQuoted(start.recent.utf8, to: &first)
            first += Array("}\n\n".utf8)
            try await writer.write(ByteBuffer(bytes: first))
            var checked = ContinuousClock.now
            for await frame in watch.frames {
                // A watch lasts only as long as its reader may watch: signed out, disabled or no longer
                // an auditor or admin, it ends within a ping's interval, however busy the shell is.
                if ContinuousClock.now - checked >= .seconds(15) {
                    guard let reader = try? await console.authenticate(cookie: cookie), reader.user.role != .technician else { break }
                    checked = ContinuousClock.now
                }
                if frame.kind == "ping" {
                    try await writer.write(ByteBuffer(string: ": ping\n\n"))
                    continue
                }
                var line = Array("data: [\(frame.time), \"\(frame.kind)\", ".utf8)
                JSONEscaping.appendQuoted(frame.text.utf8, to: &line)
                line += Array("]\n\n".utf8)
                try await writer.write(ByteBuffer(bytes: line))
                watch.sent(frame)
            }
            try await writer.write(ByteBuffer(string: "event: done\ndata: {}\n\n"))
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    func endSession(_ context: APIRequestContext) async throws -> Response {
        let caller = try signedInCaller(context)
        let id = try SessionID.parse(context.parameters.get("session") ?? "")
        let ended = try await services.sessions.end(caller, id, reason: context.form["reason"] ?? "")
        let text = ended.alreadyOver ? "Session \(id) had already ended: \(ended.reason)." : "Session \(id) ended: \(ended.reason)."
        return pages.message(title: "Session ended", text: ConsoleText.field(text, limit: 400), status: .ok, context: context,
                             link: .init(href: "/console/sessions/\(id.rawValue)", label: "Session \(id.rawValue)"))
    }
}
