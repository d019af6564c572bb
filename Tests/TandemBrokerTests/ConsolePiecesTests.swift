import Foundation
import TandemAPI
import TandemAudit
import XCTest

@testable import TandemBroker

/// The console's small parsers of foreign bytes and its page-making rules, without a browser.
final class ConsolePiecesTests: XCTestCase {
    func testFormsAreBoundedAndAmbiguityIsRefused() throws {
        XCTAssertEqual(try ConsoleForm.parse(Array("csrf=ab12&reason=disk+full%21".utf8)), ["csrf": "ab12", "reason": "disk full!"])
        XCTAssertEqual(try ConsoleForm.parse(Array("q=%C3%A9t%C3%A9".utf8)), ["q": "été"])
        XCTAssertEqual(try ConsoleForm.parse([]), [:])
        for bad in ["a=1&a=2", "=x", "a=%zz", "a=%4", "a=%FF%FE", "a=1&" + String(repeating: "b=1&", count: 0) + "c=%"] {
            XCTAssertThrowsError(try ConsoleForm.parse(Array(bad.utf8)), bad) { XCTAssertEqual($0 as? ConsoleForm.Problem, .malformed, bad) }
        }
        let many = (0..<17).map { "f\($0)=1" }.joined(separator: "&")
        XCTAssertThrowsError(try ConsoleForm.parse(Array(many.utf8))) { XCTAssertEqual($0 as? ConsoleForm.Problem, .malformed) }
        let big = "a=" + String(repeating: "x", count: ConsoleForm.maxBytes)
        XCTAssertThrowsError(try ConsoleForm.parse(Array(big.utf8))) { XCTAssertEqual($0 as? ConsoleForm.Problem, .tooLarge) }
    }

    func testTheCookieIsReadOnlyWhenItIsThereOnce() {
        XCTAssertEqual(ConsoleCookie.value(in: "a=1; tandem_console=con_1.x; b=2"), "con_1.x")
        XCTAssertEqual(ConsoleCookie.value(in: "tandem_console=con_1.x"), "con_1.x")
        XCTAssertNil(ConsoleCookie.value(in: nil))
        XCTAssertNil(ConsoleCookie.value(in: "tandem_console="))
        XCTAssertNil(ConsoleCookie.value(in: "xtandem_console=con_1.x"))
        XCTAssertNil(ConsoleCookie.value(in: "tandem_console=con_1.x; tandem_console=con_2.y"), "a planted second cookie makes neither count")
        XCTAssertNil(ConsoleCookie.value(in: "tandem_console=" + String(repeating: "x", count: ConsoleCookie.maxHeaderBytes)))
    }

    func testCSRFTokensAreBoundToTheCookie() {
        let a = ConsoleCookie.csrfToken(for: "con_0123456789ab.secret-a")
        XCTAssertEqual(a, ConsoleCookie.csrfToken(for: "con_0123456789ab.secret-a"))
        XCTAssertNotEqual(a, ConsoleCookie.csrfToken(for: "con_0123456789ab.secret-b"))
        XCTAssertEqual(a.count, 40)
        XCTAssertTrue(ConsoleCookie.sameToken(a, a))
        XCTAssertFalse(ConsoleCookie.sameToken(a, String(a.dropLast()) + (a.last == "0" ? "1" : "0")))
        XCTAssertFalse(ConsoleCookie.sameToken(a, String(a.dropLast())))
    }

    func testSecretTokensAreCheckedBeforeAnyLookup() {
        let made = SecretToken.make(prefix: "con_")
        XCTAssertEqual(SecretToken.id(of: made.text, prefix: "con_"), made.id)
        XCTAssertNil(SecretToken.id(of: made.text, prefix: "lnk_"), "a console cookie is not a link")
        for bad in ["", "con_", "con_abc", "con_abc.", ".x", "con_ABC.x", "con_abc.x.y", "con_abc.x y", "con_abc.<script>",
                    "con_abc." + String(repeating: "x", count: 200)] {
            XCTAssertNil(SecretToken.id(of: bad, prefix: "con_"), bad)
        }
    }

    func testTheTicketSearchFormIsReadFieldByField() {
        let form = TicketFilterForm(query: "q=printer+off&status=open&technician=bob&since=2026-12-01&until=2026-02-31&page=3")
        XCTAssertEqual(form.query.text, "printer off")
        XCTAssertEqual(form.query.status, "open")
        XCTAssertEqual(form.query.technician, "bob")
        XCTAssertEqual(form.query.since, TicketFilterForm.day("2026-12-01"))
        XCTAssertNil(form.query.until, "no 31st of February")
        XCTAssertEqual(form.query.page, 3)
        XCTAssertNotNil(form.problem)
        XCTAssertEqual(form.link(page: 4), "/console/tickets?q=printer%20off&status=open&technician=bob&since=2026-12-01&page=4")
        XCTAssertNotNil(TicketFilterForm(query: "q=a&q=b").problem, "an ambiguous search is said to be unread")
        XCTAssertNil(TicketFilterForm(query: nil).problem)
    }

    func testTicketsMatchTextStatusAndDays() {
        let day = 1_764_806_400.0  // 2025-12-04 00:00 UTC
        let t = TicketView(id: 42, title: "Printer offline", requester: "jane", status: "open", createdBy: "alice", created: day + 3600, external: "rt:1042")
        XCTAssertTrue(TicketService.matches(t, TicketQuery(text: "PRINTER")))
        XCTAssertTrue(TicketService.matches(t, TicketQuery(text: "#42")))
        XCTAssertTrue(TicketService.matches(t, TicketQuery(text: "rt:1042")))
        XCTAssertFalse(TicketService.matches(t, TicketQuery(text: "scanner")))
        XCTAssertFalse(TicketService.matches(t, TicketQuery(status: "closed")))
        let that = Date(timeIntervalSince1970: day)
        XCTAssertTrue(TicketService.matches(t, TicketQuery(since: that, until: that)), "'until' includes its whole day")
        XCTAssertFalse(TicketService.matches(t, TicketQuery(since: that.addingTimeInterval(86_400))))
        XCTAssertFalse(TicketService.matches(t, TicketQuery(until: that.addingTimeInterval(-86_400))))
    }

    func testNoTemplateWritesAValueUnescaped() {
        for (name, text) in ConsolePages.templates {
            XCTAssertFalse(text.contains("{{{") || text.contains("{{&"), "template \(name) writes a value without escaping it")
            XCTAssertFalse(text.lowercased().contains("<script>") || text.range(of: #"<[^>]*\bon[a-z]+\s*="#, options: [.regularExpression, .caseInsensitive]) != nil,
                           "template \(name) holds inline script")
            XCTAssertFalse(text.contains("style=\""), "template \(name) holds an inline style (CSP style-src 'self')")
        }
    }

    func testForeignTextOnAPageIsEscapedTwice() throws {
        let pages = try ConsolePages()
        let event = AuditEvent(id: 7, chain: 1, seq: 3, timeMicros: 1_764_806_400_000_000, session: "s-0123abcd", actor: "ali\u{202E}ce",
                               kind: "exec", data: ["command": "echo <script>alert(1)</script> \u{1B}]52;c;aGk=\u{07}"], prev: "", hash: "")
        let page = SessionPageView(frame: PageFrame(title: "t", heading: "h"), session: SessionRow(
            SessionView(id: "s-0123abcd", ticket: 1, technician: "alice", scopes: ["shell"], state: "ended", created: 0, timeLimit: 60, endReason: "x"),
            events: [event]), noRecording: "none", recordings: [], events: [EventRow(event)])
        let html = try XCTUnwrap(pages.html(page, "session"))
        XCTAssertTrue(html.contains("echo &lt;script&gt;alert(1)&lt;/script&gt; \\x1b]52;c;aGk=\\x07"), html)
        XCTAssertTrue(html.contains("ali\\u{202e}ce"), "a bidi override is shown, not obeyed")
        XCTAssertFalse(html.contains("<script>alert"))
        XCTAssertFalse(html.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x202E })
    }

    func testAQuoteWithACombiningMarkCannotEndAnAttribute() throws {
        let pages = try ConsolePages()
        let form = TicketFilterForm(query: "q=%22%CC%81%20autofocus%20onfocus%3Dalert(1)%20x%3D%22")
        let html = try XCTUnwrap(pages.html(TicketsPageView(frame: PageFrame(title: "t", heading: "h"), query: form.echo, statuses: [], problem: nil,
                                                            summary: "", hasTickets: false, tickets: [], page: 1, pages: 1), "tickets"))
        XCTAssertTrue(html.contains("value=\"&quot;\u{301} autofocus onfocus=alert(1) x=&quot;\""), html)
        XCTAssertEqual(ScalarHTML().escapeText("\"\u{301}<\u{301}&'"), "&quot;\u{301}&lt;\u{301}&amp;&#39;")
    }

    func testAStoredHashCannotAddKeysToAnExportedLine() throws {
        let event = AuditEvent(id: 2, chain: 1, seq: 2, timeMicros: 1, session: nil, actor: "a", kind: "exec", data: [:], prev: "p",
                               hash: #"abc","prev":"forged"#)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(event.exportLine.utf8)) as? [String: Any])
        XCTAssertEqual(object["prev"] as? String, "p")
        XCTAssertEqual(object["hash"] as? String, #"abc","prev":"forged"#)
    }

    func testAnExportEmbedsEachRecordingByteForByte() throws {
        // A recording cut short mid-character (a full disk) and holding a NUL is still the file the chain names.
        let cast = Data("{\"version\":2}\n[0.1, \"o\", \"x\u{0}\"]\n".utf8) + Data([0xE2, 0x82])
        let sha = "ab" + String(repeating: "0", count: 62)
        let closed = AuditEvent(id: 1, chain: 1, seq: 1, timeMicros: 0, session: "s-0123abcd", actor: "alice", kind: "channel_closed",
                                data: ["channel": "shell", "recording_sha256": sha], prev: AuditEvent.genesis, hash: "")
        let files = try ConsoleExport(assets: .builtIn).files(ticket: 1, title: "<b>t</b>", events: [closed], checkpoints: [], recordings: [sha: cast],
                                                             publicKeyText: "k", exportedBy: "carol")
        XCTAssertEqual(Set(files.map(\.name)), ["index.html", "console.js", "console.css"])
        let html = String(decoding: try XCTUnwrap(files.first { $0.name == "index.html" }).data, as: UTF8.self)
        let embedded = try XCTUnwrap(html.components(separatedBy: #"data-encoding="base64">"#).dropFirst().first?.prefix { $0 != "<" })
        XCTAssertEqual(Data(base64Encoded: String(embedded)), cast)
        XCTAssertTrue(html.contains("Ticket #1: &lt;b&gt;t&lt;/b&gt;"))
    }

    func testAPageSaysWhyThereIsNothingToReplay() {
        func view(_ state: String) -> SessionView {
            SessionView(id: "s-0123abcd", ticket: 1, technician: "alice", scopes: ["shell"], state: state, created: 0, timeLimit: 60, endReason: nil)
        }
        XCTAssertTrue(ConsoleRoutes.noRecording(view("refused"), [], withheld: false).contains("refused"))
        XCTAssertTrue(ConsoleRoutes.noRecording(view("expired"), [], withheld: false).contains("in time"))
        XCTAssertTrue(ConsoleRoutes.noRecording(view("ended"), [], withheld: false).contains("No shell or command ran"))
        XCTAssertTrue(ConsoleRoutes.noRecording(view("ended"), [], withheld: true).contains("another technician"))
        let failed = AuditEvent(id: 1, chain: 1, seq: 1, timeMicros: 0, session: "s-0123abcd", actor: "tandemd", kind: "recording_failed",
                                data: [:], prev: "")
        XCTAssertTrue(ConsoleRoutes.noRecording(view("ended"), [failed], withheld: false).contains("recording failed"))
    }
}
