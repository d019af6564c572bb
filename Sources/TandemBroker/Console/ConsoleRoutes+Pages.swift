import Foundation
import Glibc
import Hummingbird
import TandemAPI
import TandemAudit
import TandemCore

// The pages that read the record: tickets, a ticket, a session, a recording.
extension ConsoleRoutes {
    func tickets(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let caller = try signedInCaller(context)
        let form = TicketFilterForm(query: request.uri.query)
        let page = try await services.tickets.search(caller, form.query)
        let statuses = Set(try await services.tickets.list(caller).map(\.status)).union(form.query.status.map { [$0] } ?? []).sorted()
        let view = TicketsPageView(
            frame: pages.frame("Tickets", context: context), query: form.echo,
            statuses: statuses.map { .init(value: ConsoleText.field($0, limit: 32), selected: $0 == form.query.status) },
            problem: form.problem, summary: page.total == 1 ? "1 ticket." : "\(page.total) tickets.",
            hasTickets: !page.tickets.isEmpty, tickets: page.tickets.map(TicketRow.init), page: page.page, pages: page.pages,
            previous: page.page > 1 ? form.link(page: page.page - 1) : nil, next: page.page < page.pages ? form.link(page: page.page + 1) : nil)
        return pages.render(view, "tickets")
    }

    func ticket(_ context: APIRequestContext) async throws -> Response {
        let caller = try signedInCaller(context)
        guard let id = context.parameters.get("ticket").flatMap(Int.init), id > 0 else { throw TandemError.notFound("ticket") }
        let detail = try await services.tickets.show(caller, id)
        let sessions = try await services.tickets.sessions(caller, id, timeline: detail.timeline)
        let verification = try? await services.audit.verifyChain(caller, ticket: id)
        let deliveries = DeliveryRow.summarise(try await services.tickets.syncStatus(caller, id))
        let timeline = detail.timeline
        let rows = sessions.map { s in SessionRow(s, events: timeline.filter { $0.session == s.id }) }
        let readsCaptures = caller.user.role != .technician
        let files = timeline.compactMap { FileRow($0, readsCaptures: readsCaptures) }
        let ticket = TicketRow(detail.ticket)
        let view = TicketPageView(
            frame: pages.frame("Ticket #\(id)", heading: "Ticket #\(id): \(detail.ticket.title)", context: context),
            ticket: ticket, assignees: detail.assignees.isEmpty ? nil : ConsoleText.field(detail.assignees.joined(separator: ", ")),
            verification: VerificationBadge(verification), sessions: rows, hasSessions: !rows.isEmpty, files: files, hasFiles: !files.isEmpty,
            deliveries: deliveries, hasDeliveries: !deliveries.isEmpty, events: timeline.map(EventRow.init))
        return pages.render(view, "ticket")
    }

    func session(_ context: APIRequestContext) async throws -> Response {
        let caller = try signedInCaller(context)
        let id = try SessionID.parse(context.parameters.get("session") ?? "")
        let session = try await services.sessions.show(caller, id)
        let events = try await services.audit.timeline(caller, session: id)
        // Recordings are a session's content: its technician's, auditors' and admins' to read.
        let named = events.filter { $0.recordingMade != nil }
        var recordings: [RecordingView] = []
        var withheld = false
        if !named.isEmpty {
            // Asked without a refusal on record: showing the page is not fetching a recording.
            if try await services.audit.mayReadRecordings(caller, session: id) {
                recordings = recordingViews(events, session: id, ticket: session.ticket)
            } else {
                withheld = true
            }
        }
        let view = SessionPageView(
            frame: pages.frame("Session \(id)", context: context, player: assets.hasPlayer && !recordings.isEmpty),
            session: SessionRow(session, events: events), noRecording: recordings.isEmpty ? Self.noRecording(session, events, withheld: withheld) : nil,
            recordings: recordings, events: events.map(EventRow.init))
        return pages.render(view, "session")
    }

    /// Why there is nothing to play, in words the reader can act on.
    static func noRecording(_ session: SessionView, _ events: [AuditEvent], withheld: Bool) -> String {
        if withheld { return "The recordings of this session belong to another technician: an auditor or an admin can replay them." }
        switch session.state {
        case "refused": return "The end-user refused this session, so nothing ran and there is nothing to replay."
        case "expired": return "Nobody entered this session's code in time, so nothing ran and there is nothing to replay."
        case "pending": return "This session is waiting for the end-user's answer; nothing has run yet."
        default: break
        }
        if events.contains(where: { $0.kind == EventKind.recordingFailed.rawValue }) {
            return "This session's recording failed (see the recording_failed event below); its events are all that was kept."
        }
        if session.state == "active" { return "No shell or command has finished in this session yet; a recording appears here when one ends." }
        return "No shell or command ran in this session (files only, or nothing at all), so there is no terminal to replay; its events are below."
    }

    func recording(_ context: APIRequestContext) async throws -> Response {
        let caller = try signedInCaller(context)
        let id = try SessionID.parse(context.parameters.get("session") ?? "")
        let name = context.parameters.get("cast") ?? ""
        guard name.hasSuffix(".cast") else { throw TandemError.notFound("recording") }
        let answer = try await services.answer(.auditRecording(id, sha256: try Self.digest(String(name.dropLast(5)))), for: caller)
        guard case .bytes(let data, let type) = answer else { throw TandemError.notFound("recording") }
        return ConsoleResponse.bytes(data, contentType: type)
    }

    static func digest(_ text: String) throws -> String {
        guard text.utf8.count == 64, text.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
            throw TandemError.notFound("recording")
        }
        return text
    }
}

extension ConsoleRoutes {
    func capturedFile(_ context: APIRequestContext) async throws -> Response {
        let caller = try signedInCaller(context)
        let id = try SessionID.parse(context.parameters.get("session") ?? "")
        let sha = try Self.digest(context.parameters.get("sha256") ?? "")
        let file = try await services.audit.capturedFile(caller, session: id, sha256: sha)
        var headers = HTTPFields()
        headers[.contentType] = "application/octet-stream"
        headers[.cacheControl] = "no-store"
        // A file from the user's machine is never shown as a page of this site.
        headers[.contentDisposition] = "attachment; filename=\"\(sha).bin\""
        let body = ResponseBody(contentLength: file.size) { writer in
            let fd = try await AuditService.offPool { open(file.path, O_RDONLY | O_CLOEXEC) }
            guard fd >= 0 else { throw TandemError.notFound("the captured copy \(sha)") }
            defer { close(fd) }
            var sent = 0
            // A megabyte at a time, read on the thread pool: the event loop never waits for the disk.
            while sent < file.size {
                let want = min(1 << 20, file.size - sent)
                let chunk = try await AuditService.offPool { CaptureChunk.read(fd, max: want) }
                guard let chunk, !chunk.isEmpty else { break }
                try await writer.write(ByteBuffer(bytes: chunk))
                sent += chunk.count
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }
}

/// One read(2) of a captured file.
enum CaptureChunk {
    static func read(_ fd: Int32, max: Int) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: max)
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, max) }
        return n < 0 ? nil : Array(buffer[..<n])
    }
}
