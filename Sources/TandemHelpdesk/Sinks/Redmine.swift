import Foundation
import TandemAPI

/// Redmine's REST API (`X-Redmine-API-Key`): a session's record becomes private notes on the issue.
public struct Redmine: NoteSink {
    public let system = HelpdeskSystem.redmine
    let base: URL
    let key: String
    let http: HelpdeskHTTP

    public init(url: String, key: String, http: HelpdeskHTTP) throws(HelpdeskError) {
        base = try HelpdeskHTTP.baseURL(url, setting: "redmine-url")
        self.key = try HelpdeskHTTP.credential(key, what: "the Redmine API key (TANDEM_REDMINE_KEY or redmine-key-file)")
        self.http = http
    }

    var headers: [(String, String)] { [("X-Redmine-API-Key", key), ("Accept", "application/json")] }

    func url(_ path: String) -> URL { URL(string: base.absoluteString + path) ?? base }

    struct IssueAnswer: Decodable {
        struct Issue: Decodable {
            struct Status: Decodable {
                var name: String
                var is_closed: Bool?
            }
            struct Journal: Decodable { var notes: String? }
            var subject: String?
            var status: Status
            var journals: [Journal]?
        }
        var issue: Issue
    }

    func issue(_ id: Int, journals: Bool) async throws(HelpdeskError) -> IssueAnswer.Issue {
        // With its journals an issue is its whole history (Redmine does not page them): a larger bound.
        let (status, body) = try await http.send(.GET, url("/issues/\(id).json" + (journals ? "?include=journals" : "")), headers: headers,
                                                 maxBytes: journals ? Self.maxHistoryBytes : HelpdeskHTTP.maxAnswerBytes)
        if status == 404 { throw .noSuchTicket("redmine:\(id)") }
        guard (200..<300).contains(status) else { throw .status(status, redacted(HelpdeskHTTP.excerpt(body))) }
        guard let issue = Self.parseIssue(body) else { throw .badAnswer("issue \(id)") }
        return issue
    }

    /// `GET /issues/ID.json`'s answer (bytes from the helpdesk: the fuzz target reads them too).
    static func parseIssue(_ body: Data) -> IssueAnswer.Issue? {
        try? JSONDecoder().decode(IssueAnswer.self, from: body).issue
    }

    /// For the fuzz target: whether an issue answer reads, and what it says.
    public static func probe(_ body: Data) -> (subject: String?, status: String, notes: [String])? {
        parseIssue(body).map { ($0.subject, $0.status.name, $0.journals?.compactMap(\.notes) ?? []) }
    }

    public func ticket(_ id: Int) async throws(HelpdeskError) -> ExternalTicket {
        let issue = try await issue(id, journals: false)
        var closed = issue.status.is_closed
        if closed == nil {
            // Redmine before 5.1 leaves is_closed out of an issue; its status list has it.
            closed = try await closedStatuses().contains(issue.status.name)
        }
        return ExternalTicket(system: .redmine, id: id, subject: issue.subject ?? "", status: issue.status.name, isOpen: closed == false)
    }

    func closedStatuses() async throws(HelpdeskError) -> Set<String> {
        struct Statuses: Decodable {
            struct S: Decodable {
                var name: String
                var is_closed: Bool?
            }
            var issue_statuses: [S]
        }
        let (status, body) = try await http.send(.GET, url("/issue_statuses.json"), headers: headers)
        guard (200..<300).contains(status) else { throw .status(status, redacted(HelpdeskHTTP.excerpt(body))) }
        guard let answer = try? JSONDecoder().decode(Statuses.self, from: body) else { throw .badAnswer("the issue statuses") }
        return Set(answer.issue_statuses.filter { $0.is_closed == true }.map(\.name))
    }

    public func post(_ note: HelpdeskNote, ticket: Int) async throws(HelpdeskError) {
        struct Update: Encodable {
            struct Issue: Encodable {
                var notes: String
                var private_notes = true
            }
            var issue: Issue
        }
        let body = try? JSONEncoder().encode(Update(issue: .init(notes: Self.markup(note))))
        let (status, answer) = try await http.send(.PUT, url("/issues/\(ticket).json"),
                                                   headers: headers + [("Content-Type", "application/json")], body: body)
        if status == 404 { throw .noSuchTicket("redmine:\(ticket)") }
        guard (200..<300).contains(status) else { throw .status(status, redacted(HelpdeskHTTP.excerpt(answer))) }
        // Redmine answers 204 (or 200 with nothing much); a page of HTML is a proxy's, not Redmine's.
        guard status == 204 || answer.count < 4096 && !answer.starts(with: Data("<".utf8)) else {
            throw .badAnswer("Redmine answered \(status) to a note with something else: \(redacted(HelpdeskHTTP.excerpt(answer)))")
        }
    }

    /// Every note on the issue (Redmine's API has no search of journals); the answer is bounded by
    /// `HelpdeskHTTP.maxAnswerBytes`. Private notes are there only if the broker's account may view them.
    func notes(ticket: Int) async throws(HelpdeskError) -> [String] {
        try await issue(ticket, journals: true).journals?.compactMap(\.notes) ?? []
    }

    public func holds(key: String, ticket: Int) async throws(HelpdeskError) -> Bool {
        try await notes(ticket: ticket).contains { HelpdeskNote.carries($0, key: key) }
    }

    public func checkpointNotes(ticket: Int) async throws(HelpdeskError) -> (notes: [String], complete: Bool) {
        let all = try await notes(ticket: ticket).filter { $0.contains(CheckpointLine.prefix) }
        return (Array(all.reversed().prefix(CheckpointLine.notesRead)), all.count <= CheckpointLine.notesRead)
    }

    /// The largest issue-with-journals answer read.
    static let maxHistoryBytes = 32 << 20

    /// An excerpt of an answer with the API key cut out (a proxy may echo the request's headers).
    func redacted(_ text: String) -> String {
        text.replacingOccurrences(of: key, with: "[key]")
    }

    /// A note as Redmine text: the subject, then the body as preformatted text, so nothing a
    /// foreign string holds (a file name, a command) is read as Textile or Markdown; `<` and `&`
    /// written as entities so the text cannot close the block.
    static func markup(_ note: HelpdeskNote) -> String {
        let body = note.body.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
        return "*\(note.subject.filter { $0.isLetter || $0.isNumber || $0 == " " || $0 == ":" || $0 == "-" })*\n\n<pre>\n\(body)\n</pre>\n\n\(note.keyLine)"
    }
}
