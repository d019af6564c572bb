import Foundation
import TandemAPI

/// The tickets page's search form, read from its query string: each field checked, a field
/// that does not fit is named in `problem` and left out rather than guessed at.
struct TicketFilterForm {
    var query = TicketQuery()
    var echo = Echo()
    var problem: String?

    /// What the form shows back in its fields, as page text.
    struct Echo {
        var text = ""
        var technician = ""
        var since = ""
        var until = ""
    }

    init(query text: String?) {
        let fields: [String: String]
        do {
            fields = try ConsoleForm.parse(Array((text ?? "").utf8))
        } catch {
            problem = "The search could not be read (it is too long or malformed); showing every ticket."
            return
        }
        if let q = fields["q"]?.trimmingCharacters(in: .whitespaces), !q.isEmpty {
            query.text = String(q.prefix(200))
            echo.text = ConsoleText.field(query.text)
        }
        if let s = fields["status"], !s.isEmpty { query.status = String(s.prefix(32)) }
        if let t = fields["technician"]?.trimmingCharacters(in: .whitespaces), !t.isEmpty {
            query.technician = String(t.prefix(64))
            echo.technician = ConsoleText.field(query.technician)
        }
        for (name, keyPath) in [("since", \TicketQuery.since), ("until", \TicketQuery.until)] {
            guard let value = fields[name], !value.isEmpty else { continue }
            if let day = Self.day(value) {
                query[keyPath: keyPath] = day
                if name == "since" { echo.since = value } else { echo.until = value }
            } else {
                problem = "A date is written YYYY-MM-DD (the '\(name == "since" ? "from" : "to")' field was left out)."
            }
        }
        if let p = fields["page"], let n = Int(p), (1...100_000).contains(n) { query.page = n }
    }

    /// The same search on another page.
    func link(page: Int) -> String {
        var parts: [(String, String)] = []
        if let t = query.text { parts.append(("q", t)) }
        if let s = query.status { parts.append(("status", s)) }
        if let t = query.technician { parts.append(("technician", t)) }
        if !echo.since.isEmpty { parts.append(("since", echo.since)) }
        if !echo.until.isEmpty { parts.append(("until", echo.until)) }
        parts.append(("page", String(page)))
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return "/console/tickets?" + parts.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }.joined(separator: "&")
    }

    /// A `YYYY-MM-DD` day at 00:00 UTC.
    static func day(_ text: String) -> Date? {
        let parts = text.split(separator: "-")
        guard text.utf8.count == 10, parts.count == 3, let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
              (1970...9999).contains(y), (1...12).contains(m), (1...31).contains(d) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let date = calendar.date(from: DateComponents(year: y, month: m, day: d))
        // 2026-02-31 is not a day.
        return date.flatMap { calendar.component(.day, from: $0) == d ? $0 : nil }
    }
}
