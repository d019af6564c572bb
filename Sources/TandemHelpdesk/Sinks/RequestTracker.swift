import Foundation
import TandemAPI

/// Request Tracker 5 over REST2 (`/REST/2.0`), with a token (`Authorization: token …`):
/// a session's record becomes comments on the ticket.
public struct RequestTracker: NoteSink {
    public let system = HelpdeskSystem.rt
    let base: URL
    let token: String
    let http: HelpdeskHTTP

    public init(url: String, token: String, http: HelpdeskHTTP) throws(HelpdeskError) {
        base = try HelpdeskHTTP.baseURL(url, setting: "rt-url")
        self.token = try HelpdeskHTTP.credential(token, what: "the Request Tracker token (TANDEM_RT_TOKEN or rt-token-file)")
        self.http = http
    }

    var headers: [(String, String)] { [("Authorization", "token \(token)"), ("Accept", "application/json")] }

    func url(_ path: String) -> URL { URL(string: base.absoluteString + "/REST/2.0" + path) ?? base }

    public func ticket(_ id: Int) async throws(HelpdeskError) -> ExternalTicket {
        let (status, body) = try await http.send(.GET, url("/ticket/\(id)?fields=Subject,Status"), headers: headers)
        if status == 404 { throw .noSuchTicket("rt:\(id)") }
        guard (200..<300).contains(status) else { throw .status(status, redacted(HelpdeskHTTP.excerpt(body))) }
        guard let answer = Self.parseTicket(body) else { throw .badAnswer("ticket \(id) came without a Status") }
        // The default lifecycle's active statuses; resolved, rejected and deleted take no more work.
        return ExternalTicket(system: .rt, id: id, subject: answer.subject, status: answer.status,
                              isOpen: ["new", "open", "stalled"].contains(answer.status.lowercased()))
    }

    /// `GET /ticket/ID`'s answer: its subject and status (bytes from the helpdesk: the fuzz target reads them too).
    public static func parseTicket(_ body: Data) -> (subject: String, status: String)? {
        struct Answer: Decodable {
            var Subject: String?
            var Status: String?
        }
        guard let answer = try? JSONDecoder().decode(Answer.self, from: body), let status = answer.Status else { return nil }
        return (answer.Subject ?? "", status)
    }

    /// One page of `GET /ticket/ID/attachments`: the texts, and how many pages there are.
    public static func parseAttachments(_ body: Data) -> (texts: [String], pages: Int?)? {
        struct Page: Decodable {
            struct Item: Decodable { var Content: String? }
            var items: [Item]
            var pages: Int?
        }
        guard let page = try? JSONDecoder().decode(Page.self, from: body) else { return nil }
        return (page.items.compactMap(\.Content), page.pages)
    }

    public func post(_ note: HelpdeskNote, ticket: Int) async throws(HelpdeskError) {
        struct Comment: Encodable {
            var Subject: String
            var Content: String
            var ContentType = "text/plain"
        }
        let body = try? JSONEncoder().encode(Comment(Subject: note.subject, Content: note.body + "\n\n" + note.keyLine + "\n"))
        let (status, answer) = try await http.send(.POST, url("/ticket/\(ticket)/comment"),
                                                   headers: headers + [("Content-Type", "application/json")], body: body)
        if status == 404 { throw .noSuchTicket("rt:\(ticket)") }
        guard (200..<300).contains(status) else { throw .status(status, redacted(HelpdeskHTTP.excerpt(answer))) }
        // REST2 answers 201 with a JSON list of messages; anything else (a proxy's page) did not reach RT.
        guard status == 201, (try? JSONDecoder().decode([String].self, from: answer)) != nil else {
            throw .badAnswer("RT answered \(status) to a comment without its list of messages: \(redacted(HelpdeskHTTP.excerpt(answer)))")
        }
    }

    public func holds(key: String, ticket: Int) async throws(HelpdeskError) -> Bool {
        try await search(ticket: ticket, containing: HelpdeskNote.keyPrefix + key, pages: 2).contains { HelpdeskNote.carries($0, key: key) }
    }

    public func checkpointNotes(ticket: Int) async throws(HelpdeskError) -> (notes: [String], complete: Bool) {
        let pages = CheckpointLine.notesRead / Self.perPage
        let notes = try await search(ticket: ticket, containing: CheckpointLine.prefix, pages: pages)
        return (notes, notes.count < pages * Self.perPage)
    }

    /// Small pages: a note can be long (a busy session's events), and a page must stay under the answer limit.
    static let perPage = 20

    /// The ticket's plain-text attachments containing `text`, newest first, searched by RT itself
    /// (so a ticket with thousands of mails and large files costs the same as a short one).
    func search(ticket: Int, containing text: String, pages: Int) async throws(HelpdeskError) -> [String] {
        struct Clause: Encodable {
            var field: String
            var `operator`: String
            var value: String
        }
        let query = try? JSONEncoder().encode([Clause(field: "Content", operator: "LIKE", value: text),
                                               Clause(field: "ContentType", operator: "=", value: "text/plain")])
        var texts: [String] = []
        var page = 1
        while page <= max(1, pages) {
            let (status, body) = try await http.send(.POST, url("/ticket/\(ticket)/attachments?fields=Content&orderby=id&order=DESC&per_page=\(Self.perPage)&page=\(page)"),
                                                     headers: headers + [("Content-Type", "application/json")], body: query)
            if status == 404 { throw .noSuchTicket("rt:\(ticket)") }
            guard (200..<300).contains(status) else { throw .status(status, redacted(HelpdeskHTTP.excerpt(body))) }
            guard let answer = Self.parseAttachments(body) else { throw .badAnswer("an attachments page of rt:\(ticket)") }
            texts += answer.texts
            // RT leaves `pages` out for users who may not see everything: a full page means there may be more.
            guard answer.texts.count >= Self.perPage else { break }
            page += 1
        }
        return texts
    }

    /// An excerpt of an answer with the token cut out (a proxy may echo the request's headers).
    func redacted(_ text: String) -> String {
        text.replacingOccurrences(of: token, with: "[token]")
    }
}
