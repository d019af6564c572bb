import Foundation
import TandemAPI

/// Request Tracker 5 over REST2 (`/REST/2.0`), with a token (`Authorization: token …`):
/// a session's record becomes comments on the ticket.
public struct RequestTracker: NoteSink {
    public let system = HelpdeskSystem.rt
    let base: URL
    let token: String
    let http: HelpdeskHTTP
    /// Attachment pages read when looking for a key or a checkpoint (100 each).
    static let pagesRead = 50

    public init(url: String, token: String, http: HelpdeskHTTP) throws(HelpdeskError) {
        base = try HelpdeskHTTP.baseURL(url, setting: "rt-url")
        guard !token.isEmpty, !token.contains(where: { $0.isWhitespace || $0.isNewline }) else {
            throw .misconfigured("the Request Tracker token (TANDEM_RT_TOKEN or rt-token-file) is empty or holds spaces")
        }
        self.token = token
        self.http = http
    }

    var headers: [(String, String)] { [("Authorization", "token \(token)"), ("Accept", "application/json")] }

    func url(_ path: String) -> URL { URL(string: base.absoluteString + "/REST/2.0" + path) ?? base }

    public func ticket(_ id: Int) async throws(HelpdeskError) -> ExternalTicket {
        let (status, body) = try await http.send(.GET, url("/ticket/\(id)?fields=Subject,Status"), headers: headers)
        if status == 404 { throw .noSuchTicket("rt:\(id)") }
        guard (200..<300).contains(status) else { throw .status(status, HelpdeskHTTP.excerpt(body)) }
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
        guard (200..<300).contains(status) else { throw .status(status, HelpdeskHTTP.excerpt(answer)) }
    }

    public func notes(ticket: Int) async throws(HelpdeskError) -> [String] {
        var texts: [String] = []
        var page = 1
        while page <= Self.pagesRead {
            let (status, body) = try await http.send(.GET, url("/ticket/\(ticket)/attachments?fields=Content&per_page=100&page=\(page)"),
                                                     headers: headers)
            if status == 404 { throw .noSuchTicket("rt:\(ticket)") }
            guard (200..<300).contains(status) else { throw .status(status, HelpdeskHTTP.excerpt(body)) }
            guard let answer = Self.parseAttachments(body) else { throw .badAnswer("an attachments page of rt:\(ticket)") }
            texts += answer.texts
            guard let pages = answer.pages, page < pages else { break }
            page += 1
        }
        return texts
    }
}
