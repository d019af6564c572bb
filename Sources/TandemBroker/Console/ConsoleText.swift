import Foundation
import TandemAudit
import TandemText

/// How values become page text. Foreign strings first go through `TerminalText`, the one
/// escaping function (controls and bidi marks shown as visible escapes), then Mustache
/// HTML-escapes every one of them as it renders.
enum ConsoleText {
    static func field(_ text: String?, limit: Int = 300) -> String {
        text.map { TerminalText.field($0, limit: limit) } ?? ""
    }

    /// Long text shown whole (a command line, an event's details), on one line.
    static func whole(_ text: String) -> String {
        TerminalText.escape(text)
    }

    static func time(_ seconds: Double) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
        return f.string(from: Date(timeIntervalSince1970: seconds))
    }

    static func iso(_ seconds: Double) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: seconds))
    }

    static func duration(_ seconds: Double) -> String { SpokenDuration.of(seconds: Int(seconds.rounded())) }

    /// An event's data as `key=value` pairs, in key order, escaped.
    static func details(_ event: AuditEvent) -> String {
        whole(event.data.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
    }
}
