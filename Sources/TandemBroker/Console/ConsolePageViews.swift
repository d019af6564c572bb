import TandemAPI
import TandemAudit
import TandemCore

// One value per page, as its template reads it.

struct TicketsPageView {
    var frame: PageFrame
    var query: TicketFilterForm.Echo
    var statuses: [StatusOption]
    var problem: String?
    var summary: String
    var hasTickets: Bool
    var tickets: [TicketRow]
    var page: Int
    var pages: Int
    var previous: String?
    var next: String?

    struct StatusOption {
        var value: String
        var selected: Bool
    }
}

struct TicketPageView {
    var frame: PageFrame
    var ticket: TicketRow
    var assignees: String?
    var verification: VerificationBadge
    var sessions: [SessionRow]
    var hasSessions: Bool
    var files: [FileRow]
    var hasFiles: Bool
    var deliveries: [DeliveryRow]
    var hasDeliveries: Bool
    var events: [EventRow]
}

struct SessionPageView {
    var frame: PageFrame
    var session: SessionRow
    var noRecording: String?
    var recordings: [RecordingView]
    var events: [EventRow]
}

/// The recordings a session's events name, each with the command of the exec it recorded.
func recordingViews(_ events: [AuditEvent], session: SessionID, ticket: Int) -> [RecordingView] {
    var command: String?
    var views: [RecordingView] = []
    for e in events {
        if e.kind == EventKind.exec.rawValue { command = e.data["command"] }
        if e.recordingMade != nil { views.append(RecordingView(e, session: session, ticket: ticket, command: command)) }
    }
    return views
}

/// One recording of a session, with the event that names it (which the chain covers).
struct RecordingView {
    var title: String
    var sha256: String
    var url: String
    var ticket: Int
    var eventID: Int64
    var eventSeq: Int64
    var eventKind: String

    /// `command` is the exec's, for an exec channel's recording.
    init(_ e: AuditEvent, session: SessionID, ticket: Int, command: String?) {
        // Only a digest reaches a URL or an id; anything else in the field is shown, not linked.
        let sha = (try? ConsoleRoutes.digest(e.data["recording_sha256"] ?? "")) ?? "invalid-digest"
        sha256 = sha
        url = "/console/sessions/\(session.rawValue)/recordings/\(sha256).cast"
        self.ticket = ticket
        eventID = e.id
        eventSeq = e.seq
        eventKind = ConsoleText.field(e.kind, limit: 64)
        let time = ConsoleText.time(Double(e.timeMicros) / 1e6)
        if e.data["channel"] == "exec", let command {
            title = "Command " + ConsoleText.field(command, limit: 120) + ", ended " + time
        } else {
            title = (e.data["channel"] == "shell" ? "Shell" : "Terminal") + ", ended " + time
        }
    }
}

struct LivePageView {
    var frame: PageFrame
    var sessions: [Row]
    var hasSessions: Bool

    struct Row {
        var id: String
        var ticket: Int
        var technician: String
        var since: String
        var sinceISO: String
        var watchable: Bool

        init(_ s: LiveSessionView) {
            id = ConsoleText.field(s.id, limit: 64)
            ticket = s.ticket
            technician = ConsoleText.field(s.technician, limit: 64)
            since = ConsoleText.time(s.since)
            sinceISO = ConsoleText.iso(s.since)
            watchable = s.watchable
        }
    }
}

struct WatchPageView {
    var frame: PageFrame
    var id: String
    var ticket: Int
    var technician: String
    var canEnd: Bool
    var csrf: String
}

struct SignInPageView {
    var frame: PageFrame
    var name: String
    var role: String
    /// The link itself, back to this broker in the form (it was in the address already).
    var link: String
    /// The same as the page's `tandem_signin` cookie.
    var nonce: String
}
