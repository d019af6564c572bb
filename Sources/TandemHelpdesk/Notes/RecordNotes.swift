import Foundation
import TandemAudit
import TandemText

/// How a ticket's record reads in a helpdesk: one line per event, a summary when a session ends,
/// and a signed line per checkpoint. Every foreign string (names, commands, paths) is escaped
/// by the one escaping function; the helpdesk shows the note as plain text.
public enum RecordNotes {
    /// `#14  11:56:01 UTC  alice  exec  command=ls -la`: the event's number in the ticket's chain
    /// first, so a reader (or a test) sees each event once and in order, whatever the posts.
    public static func line(_ e: AuditEvent) -> String {
        let details = e.data.keys.sorted().map { "\($0)=\(TerminalText.field(e.data[$0] ?? "", limit: 300))" }
        return (["#\(e.seq)", time(e.timeMicros), TerminalText.field(e.actor, limit: 100), TerminalText.field(e.kind, limit: 60)] + details)
            .joined(separator: "  ")
    }

    /// Events of one post, and a session's summary after the `ended` among them.
    public static func body(events: [AuditEvent], summaries: [String]) -> String {
        var text = events.map(line).joined(separator: "\n")
        for summary in summaries { text += "\n\n" + summary }
        return text
    }

    /// The subject line of a post.
    public static func subject(events: [AuditEvent]) -> String {
        let sessions = Set(events.compactMap(\.session)).sorted()
        let what = events.count == 1 ? events[0].kind.replacingOccurrences(of: "_", with: " ") : "\(events.count) events"
        return "Tandem: " + what + (sessions.count == 1 ? " (session \(TerminalText.field(sessions[0], limit: 40)))" : "")
    }

    /// What happened in one session, from its events: who, when, how long, every command, every
    /// file with its size and SHA-256, every recording's SHA-256.
    public static func summary(session: String, events: [AuditEvent], replayURL: String? = nil) -> String {
        func first(_ kind: EventKind) -> AuditEvent? { events.first { $0.kind == kind.rawValue } }
        var lines = ["Session \(TerminalText.field(session, limit: 40)): summary"]
        if let requested = first(.sessionRequested) {
            lines.append("Technician: \(TerminalText.field(requested.actor, limit: 100))")
            lines.append("Requested: \(dateTime(requested.timeMicros)), scopes \(TerminalText.field(requested.data["scopes"] ?? "", limit: 100))")
        }
        if let joined = first(.joinAccepted) {
            lines.append("End-user's agent connected from: \(TerminalText.field(joined.data["source"] ?? "", limit: 100))")
        }
        let approved = first(.approved)
        if let approved { lines.append("Approved: \(dateTime(approved.timeMicros))") }
        if let refused = first(.refused) { lines.append("Refused: \(dateTime(refused.timeMicros))") }
        if let ended = first(.ended) {
            lines.append("Ended: \(dateTime(ended.timeMicros)) (\(TerminalText.field(ended.data["reason"] ?? "", limit: 200)))")
            if let approved {
                lines.append("Duration: \(duration(micros: ended.timeMicros - approved.timeMicros)) from approval to end")
            }
        }
        let commands = events.filter { $0.kind == EventKind.exec.rawValue }
        lines.append("Commands run: \(commands.isEmpty ? "none" : "")")
        // A note stays a note: past the first 500 of a list, the audit log has the rest.
        for c in commands.prefix(listed) {
            lines.append("  \(time(c.timeMicros))  \(TerminalText.field(c.data["command"] ?? "", limit: 2000))")
        }
        if commands.count > listed { lines.append("  … and \(commands.count - listed) more (tandem audit log --session \(TerminalText.field(session, limit: 40)))") }
        if events.contains(where: { $0.kind == EventKind.shellStarted.rawValue }) {
            lines.append("  (and an interactive shell: its commands are in its recording)")
        }
        let files = events.filter { $0.kind == EventKind.fileTransfer.rawValue }
        lines.append("Files moved: \(files.isEmpty ? "none" : "")")
        for f in files.prefix(listed) {
            let bytes = Int(f.data["bytes"] ?? "") ?? 0
            let sha = f.data["sha256"] ?? f.data["content_sha256"] ?? "(not whole: no SHA-256)"
            lines.append("  \(TerminalText.field(f.data["direction"] ?? "", limit: 20)) \(TerminalText.field(f.data["path"] ?? "", limit: 1000))  "
                         + "\(size(bytes))  sha256 \(TerminalText.field(sha, limit: 80))")
        }
        if files.count > listed { lines.append("  … and \(files.count - listed) more") }
        let recordings = events.compactMap { e -> (String, AuditEvent)? in e.data["recording_sha256"].map { ($0, e) } }
        lines.append("Recordings: \(recordings.isEmpty ? "none" : "")")
        for (sha, e) in recordings.prefix(listed) {
            lines.append("  \(TerminalText.field(e.data["channel"] ?? e.kind, limit: 40))  sha256 \(TerminalText.field(sha, limit: 80))"
                         + (e.data["recording_bytes"].map { "  \($0) bytes" } ?? ""))
        }
        if recordings.count > listed { lines.append("  … and \(recordings.count - listed) more") }
        if let replayURL { lines.append("Replay: \(replayURL)") }
        return lines.map { $0.hasSuffix(": ") ? String($0.dropLast()) : $0 }.joined(separator: "\n")
    }

    /// Entries of each list a summary shows.
    static let listed = 500

    static func time(_ micros: Int64) -> String {
        format(micros, "HH:mm:ss") + " UTC"
    }

    static func dateTime(_ micros: Int64) -> String {
        format(micros, "yyyy-MM-dd HH:mm:ss") + " UTC"
    }

    private static func format(_ micros: Int64, _ pattern: String) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = pattern
        return f.string(from: Date(timeIntervalSince1970: Double(micros) / 1_000_000))
    }

    static func duration(micros: Int64) -> String { SpokenDuration.of(seconds: Int(micros / 1_000_000)) }

    static func size(_ bytes: Int) -> String {
        bytes < 1024 ? "\(bytes) bytes" : String(format: "%.1f KiB", Double(bytes) / 1024) + " (\(bytes) bytes)"
    }
}
