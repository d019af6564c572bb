import Foundation
import XCTest

/// Issue 9, acceptance 1: text from another party reaches no terminal raw. A ticket title,
/// requester, technician name, exec command, file name and agent host name each hold ESC
/// sequences, CR, LF and a bidi override; every place that shows them is read through a
/// pseudo-terminal, which must show them escaped and never the raw bytes.
final class UntrustedTextTests: XCTestCase {
    /// A colour change, a window-title change ending in BEL, CR, LF and a right-to-left override.
    static let hostile = "X\u{1B}[31mR\u{1B}]0;T\u{7}\rC\nL\u{202E}B"
    static let shown = #"X\x1b[31mR\x1b]0;T\x07\rC\nL\u{202e}B"#
    static let raw = ["\u{1B}[31m", "\u{1B}]0;", "\u{7}", "\u{202E}", "C\nL", "C\r\nL", "T\rC"]

    private var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Support/hostile_client.py").path
    }

    private func sqlText(_ s: String) -> String {
        "char(" + s.unicodeScalars.map { String($0.value) }.joined(separator: ",") + ")"
    }

    private func assertEscaped(_ text: String, contains expected: String, _ place: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(text.contains(expected), "\(place) lacks \(expected.debugDescription): \(text.debugDescription)", file: file, line: line)
        for bytes in Self.raw {
            XCTAssertFalse(text.contains(bytes), "\(place) shows raw \(bytes.debugDescription): \(text.debugDescription)", file: file, line: line)
        }
    }

    /// Runs `tandem …` on a pseudo-terminal and returns all it showed.
    private func onTerminal(_ fx: BrokerFixture, _ words: [String]) throws -> String {
        let term = try PseudoTerminal(Harness.tool("tandem"), words, in: fx.dir, rows: 50, columns: 400)
        defer { term.stop() }
        XCTAssertTrue(Harness.waitUntil(30) { _ = term.text; return !term.process.isRunning }, "tandem \(words) did not finish")
        return term.text
    }

    func testForeignTextIsShownEscapedEverywhereAndTheOfferKeepsItsLayout() throws {
        let fx = try BrokerFixture(name: "untrusted")
        defer { fx.stopAll() }
        try fx.addUser("carol", role: "auditor")
        let h = Self.hostile

        // Entered through the broker, control characters are refused with a clear error.
        let refusedTitle = try fx.tandem(["ticket", "new", h, "--requester", "jane"])
        XCTAssertEqual(refusedTitle.status, 2)
        XCTAssertTrue(refusedTitle.stderr.contains("a ticket title may not contain control characters (U+001b at character 2)"),
                      refusedTitle.stderr)
        let refusedRequester = try fx.tandem(["ticket", "new", "Printer", "--requester", h])
        XCTAssertEqual(refusedRequester.status, 2)
        XCTAssertTrue(refusedRequester.stderr.contains("requester name may not contain control characters"), refusedRequester.stderr)
        XCTAssertFalse(refusedTitle.stderr.contains("\u{1B}"), "the refusal itself quotes nothing raw")

        // Already stored (an older broker, an outside helpdesk): a hostile ticket, and a technician
        // whose name the broker's own user commands would refuse. libssh and OpenSSH refuse such
        // a login name too, so that technician comes with a client that sends any name.
        try fx.sql("INSERT INTO tickets(title, requester, status, created, created_by) VALUES(\(sqlText(h)), \(sqlText(h)), 'open', 0, \(sqlText(h)))")
        try fx.sql("INSERT INTO ticket_assignees(ticket_id, user, assigned_by, time) VALUES(1, 'alice', 'operator', 0)")
        let keys = fx.dir.appendingPathComponent("hostile-key")
        try FileManager.default.createDirectory(at: keys, withIntermediateDirectories: true)
        XCTAssertEqual(try runTool(Harness.tool("tandem-loadgen"), ["keygen", "--out", keys.path], in: fx.dir).status, 0)
        let publicKey = try String(contentsOf: keys.appendingPathComponent("load.pub"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try fx.sql("INSERT INTO users(name, role, public_key, created) VALUES(\(sqlText(h)), 'technician', '\(publicKey)', 0)")
        try fx.sql("INSERT INTO user_keys(user, public_key, added) VALUES(\(sqlText(h)), '\(publicKey)', 0)")
        try fx.addUser("dave", role: "admin")
        let dave = ["--config", fx.dir.appendingPathComponent("dave.conf").path]
        let asHostile = ["command", "--broker", "127.0.0.1:\(fx.port)", "--ca", fx.dir.appendingPathComponent("certs/ca.crt").path,
                         "--key", keys.appendingPathComponent("load.key").path, "--user", h]
        let request = try Child(Harness.tool("tandem-loadgen"), asHostile + [#"{"op":"session.new","ticket":1,"scopes":"shell,files"}"#],
                                in: fx.dir, name: "hostile-session")
        defer { request.stop() }
        var code = "", id = ""
        XCTAssertTrue(Harness.waitUntil(20) {
            let out = request.stdout
            guard let c = out.range(of: #""code":"[0-9]{9}""#, options: .regularExpression),
                  let s = out.range(of: #""session":"s-[0-9a-f]+""#, options: .regularExpression) else { return false }
            code = String(out[c].dropFirst(8).dropLast())
            id = String(out[s].dropFirst(11).dropLast())
            return true
        }, request.stdout + request.stderr)

        // The offer, on the end-user's terminal.
        let agent = try PseudoTerminal(Harness.tool("tandem-agent"), [code, "--broker", "127.0.0.1:\(fx.port)", "--ca", "certs/ca.crt"],
                                       in: fx.dir, rows: 50, columns: 200)
        defer { agent.stop() }
        XCTAssertTrue(agent.waitFor("[y/N]"), agent.text)
        let offer = agent.text
        assertEscaped(offer, contains: "Ticket #1: “" + Self.shown + "”", "the offer's ticket")
        assertEscaped(offer, contains: Self.shown + " from your support team asks", "the offer's technician")
        assertEscaped(offer, contains: "Allow \(Self.shown) to connect for ticket #1? [y/N]", "the question")
        let granted = offer.components(separatedBy: "They will be able to:").last?.components(separatedBy: "Everything they do").first?
            .components(separatedBy: "\r\n").filter { !$0.isEmpty }
        XCTAssertEqual(granted?.sorted(), ["  • copy files to and from this computer", "  • type commands on this computer"],
                       "exactly the granted scopes, nothing a field added")
        agent.type("y\n")
        XCTAssertEqual(request.wait(20), 0, request.stderr)

        // An exec command and a file name, as the agent reports them.
        let exec = try runTool(Harness.tool("tandem-loadgen"), asHostile + ["exec \(id) -- : '\(h)'"], in: fx.dir)
        XCTAssertEqual(exec.status, 0, exec.stderr)
        let remote = fx.dir.appendingPathComponent("remote")
        try FileManager.default.createDirectory(at: remote, withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: remote.appendingPathComponent(h).path, contents: Data("x".utf8)))
        let local = fx.dir.appendingPathComponent("fix.conf").path
        try "setting = 1\n".write(toFile: local, atomically: true, encoding: .utf8)
        let put = try runTool(Harness.tool("tandem"), ["put", id, local, remote.path + "/up-" + h] + dave, in: fx.dir)
        XCTAssertEqual(put.status, 0, put.stderr)
        XCTAssertTrue(agent.waitFor("up-" + Self.shown), agent.text)
        let notices = agent.text
        assertEscaped(notices, contains: "The technician ran: : '\(Self.shown)'", "the agent's exec notice")
        assertEscaped(notices, contains: "uploaded " + remote.path + "/up-" + Self.shown, "the agent's file notice")

        // The file name in the technician's ls.
        assertEscaped(try onTerminal(fx, ["ls", id, remote.path] + dave), contains: " " + Self.shown, "ls")

        // A hostile agent host and user name, on the ticket's chain.
        let second = try fx.requestSession(ticket: 1)
        let join = try runTool("/usr/bin/python3", [script, "\(fx.port)", fx.dir.appendingPathComponent("certs/ca.crt").path,
                                                    "tandem-agent/1", "join", second.code.replacingOccurrences(of: " ", with: ""), "1",
                                                    "127.0.0.1", h, h], in: fx.dir)
        XCTAssertEqual(join.stdout, "offer\n", join.stderr)
        XCTAssertEqual(second.child.wait(20), 4, "the hostile agent refused")

        // ticket show and the human audit log, for the auditor.
        let show = try onTerminal(fx, ["ticket", "show", "1", "--config", fx.dir.appendingPathComponent("carol.conf").path])
        assertEscaped(show, contains: "Ticket #1: " + Self.shown, "ticket show's title")
        assertEscaped(show, contains: "Requester: " + Self.shown, "ticket show's requester")
        assertEscaped(show, contains: Self.shown + "@" + Self.shown, "ticket show's agent host")
        let carol = ["--config", fx.dir.appendingPathComponent("carol.conf").path]
        let log = try onTerminal(fx, ["audit", "log", "--ticket", "1"] + carol)
        assertEscaped(log, contains: "command=: '\(Self.shown)'", "audit log's command")
        assertEscaped(log, contains: "up-" + Self.shown, "audit log's file name")
        assertEscaped(log, contains: Self.shown + "@" + Self.shown, "audit log's agent host")
        // The JSON view on a terminal: the same values, nothing raw.
        let jsonOnTerminal = try onTerminal(fx, ["audit", "log", "--ticket", "1", "--json"] + carol)
        XCTAssertTrue(jsonOnTerminal.contains(#"L\u202eB"#), jsonOnTerminal)
        for bytes in Self.raw { XCTAssertFalse(jsonOnTerminal.contains(bytes), "audit log --json shows raw \(bytes.debugDescription)") }
        let list = try onTerminal(fx, ["ticket", "list"] + carol)
        assertEscaped(list, contains: Self.shown, "ticket list")

        // Exactly one line per event, whatever the events hold.
        let json = try runTool(Harness.tool("tandem"), ["audit", "log", "--ticket", "1", "--json"] + carol, in: fx.dir)
        let human = try runTool(Harness.tool("tandem"), ["audit", "log", "--ticket", "1"] + carol, in: fx.dir)
        let events = json.stdout.split(separator: "\n").count
        XCTAssertGreaterThan(events, 8)
        XCTAssertEqual(human.stdout.split(separator: "\n", omittingEmptySubsequences: false).count - 1, events, human.stdout)
    }
}
