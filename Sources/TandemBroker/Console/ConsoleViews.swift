import Foundation
import TandemAPI
import TandemAudit
import TandemCore

// What the templates render: every string already made page text by `ConsoleText`.

/// The parts of every page: its title, who is signed in, whether it plays recordings.
struct PageFrame {
    var title: String
    var heading: String
    var who: Who?
    var player = false

    struct Who {
        var name: String
        var role: String
        var csrf: String
        /// Auditors and admins: the live sessions page is theirs.
        var watcher: Bool
    }
}

struct TicketRow {
    var id: Int
    var title: String
    var requester: String
    var status: String
    var createdBy: String
    var created: String
    var createdISO: String
    var external: String?

    init(_ t: TicketView) {
        id = t.id
        title = ConsoleText.field(t.title)
        requester = ConsoleText.field(t.requester)
        status = ConsoleText.field(t.status)
        createdBy = ConsoleText.field(t.createdBy ?? "-")
        created = ConsoleText.time(t.created)
        createdISO = ConsoleText.iso(t.created)
        external = t.external.map { ConsoleText.field($0, limit: 80) }
    }
}

struct EventRow {
    var id: Int64
    var seq: Int64
    var time: String
    var timeISO: String
    var session: String?
    var actor: String
    var kind: String
    var details: String

    init(_ e: AuditEvent) {
        id = e.id
        seq = e.seq
        time = ConsoleText.time(Double(e.timeMicros) / 1e6)
        timeISO = ConsoleText.iso(Double(e.timeMicros) / 1e6)
        session = e.session.map { ConsoleText.field($0, limit: 64) }
        actor = ConsoleText.field(e.actor, limit: 64)
        kind = ConsoleText.field(e.kind, limit: 64)
        details = ConsoleText.details(e)
    }
}

struct SessionRow {
    var id: String
    var ticket: Int
    var technician: String
    var outcome: String
    var endReason: String?
    var began: String
    var beganISO: String
    var duration: String
    var scopes: String

    /// `events` are the session's own: when it started and ended come from them.
    init(_ s: SessionView, events: [AuditEvent], now: Date = Date()) {
        id = ConsoleText.field(s.id, limit: 64)
        ticket = s.ticket
        technician = ConsoleText.field(s.technician, limit: 64)
        outcome = ConsoleText.field(s.state, limit: 32)
        endReason = s.endReason.map { ConsoleText.field($0) }
        let started = events.first { $0.kind == EventKind.started.rawValue }.map { Double($0.timeMicros) / 1e6 }
        let ended = events.last { $0.kind == EventKind.ended.rawValue }.map { Double($0.timeMicros) / 1e6 }
        let begin = started ?? s.created
        began = ConsoleText.time(begin)
        beganISO = ConsoleText.iso(begin)
        switch (started, ended) {
        case (.some(let a), .some(let b)): duration = ConsoleText.duration(b - a)
        case (.some(let a), nil): duration = "active for " + ConsoleText.duration(now.timeIntervalSince1970 - a)
        default: duration = "never began"
        }
        scopes = ConsoleText.field(s.scopes.joined(separator: ", "))
    }
}

struct FileRow {
    var time: String
    var timeISO: String
    var session: String
    var direction: String
    var path: String
    var bytes: String
    var sha256: String
    /// The broker's copy, for an auditor or an admin, when capture kept one.
    var capture: String?

    /// A `file_transfer` event, else nil.
    init?(_ e: AuditEvent, readsCaptures: Bool = false) {
        guard e.kind == EventKind.fileTransfer.rawValue else { return nil }
        time = ConsoleText.time(Double(e.timeMicros) / 1e6)
        timeISO = ConsoleText.iso(Double(e.timeMicros) / 1e6)
        session = ConsoleText.field(e.session ?? "-", limit: 64)
        direction = ConsoleText.field(e.data["direction"], limit: 32)
        path = ConsoleText.whole(e.data["path"] ?? "")
        bytes = ConsoleText.field(e.data["bytes"], limit: 32)
        sha256 = ConsoleText.field(e.data["sha256"] ?? "(partial: no whole-file hash)", limit: 80)
        if readsCaptures, let session = e.session.flatMap({ try? SessionID.parse($0) }),
           let copy = e.data["content_sha256"].flatMap({ try? ConsoleRoutes.digest($0) }) {
            capture = "/console/sessions/\(session.rawValue)/files/\(copy)"
        }
    }
}

struct DeliveryRow {
    var sink: String
    var delivered = 0
    var waiting = 0
    var failed = 0
    var lastError = ""

    static func summarise(_ rows: [DeliveryView]) -> [DeliveryRow] {
        var bySink: [String: DeliveryRow] = [:]
        for r in rows {
            var row = bySink[r.sink] ?? DeliveryRow(sink: ConsoleText.field(r.sink, limit: 64))
            switch r.state {
            case "delivered": row.delivered += 1
            case "failed": row.failed += 1
            default: row.waiting += 1
            }
            if let e = r.lastError { row.lastError = ConsoleText.field(e) }
            bySink[r.sink] = row
        }
        return bySink.keys.sorted().compactMap { bySink[$0] }
    }
}

struct VerificationBadge {
    var state: String
    var label: String
    var detail: String

    init(_ v: VerificationView?) {
        guard let v else {
            (state, label, detail) = ("unknown", "not checked", "The broker could not check this record just now.")
            return
        }
        state = v.ok ? "ok" : "broken"
        label = v.ok ? "verified by the broker" : "altered"
        detail = ConsoleText.field(v.ok ? "\(v.events) events, \(v.checkpoints) signed checkpoints, \(v.recordings) recordings checked."
                                        : v.problems.joined(separator: "; "), limit: 600)
    }
}
