import Foundation
import XCTest

/// Issue 14, acceptance 3: a second technician joins only with the end-user's yes; a watcher
/// sees the shell live and cannot type in it; a pair can; everyone sees who is there.
final class JoinTests: XCTestCase {
    private func occurrences(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    func testTheUserDecidesWhoJoinsWatchersCannotTypeAndPairsCan() throws {
        let fx = try BrokerFixture(name: "join")
        defer { fx.stopAll() }
        try fx.addUser("bob", role: "technician")
        try fx.addUser("carol", role: "auditor")
        try fx.addUser("dave", role: "technician")
        XCTAssertEqual(try fx.tandem(["ticket", "new", "Printer offline", "--requester", "jane"]).status, 0)
        // bob works on the ticket with alice; dave does not.
        let assigned = try fx.tandem(["ticket", "assign", "1", "bob"])
        XCTAssertEqual(assigned.status, 0, assigned.stderr)
        let request = try fx.requestSession(ticket: 1)
        // The user's agent on a terminal: the question, the notices and the status line are there.
        let agent = try PseudoTerminal(Harness.tool("tandem-agent"), [request.code, "--broker", "127.0.0.1:\(fx.port)", "--ca", "certs/ca.crt"],
                                       in: fx.dir, rows: 30, columns: 120)
        defer { agent.stop() }
        XCTAssertTrue(agent.waitFor("[y/N]"), agent.text)
        agent.type("y\r")
        XCTAssertEqual(request.child.wait(20), 0, request.child.stderr)
        let alice = try PseudoTerminal(Harness.tool("tandem"), ["shell", request.id] + fx.cliConfig, in: fx.dir, rows: 24, columns: 80)
        defer { alice.stop() }
        XCTAssertNotNil(alice.waitForMatch("[$#] "), alice.text)
        let bobConfig = ["--config", fx.dir.appendingPathComponent("bob.conf").path]
        let question = "bob from your support team wants to watch this session. Allow? [y/N]"

        // 0. A technician who is not on the ticket is told the session does not exist; the user is not asked.
        let stranger = try PseudoTerminal(Harness.tool("tandem"), ["join", request.id, "--config", fx.dir.appendingPathComponent("dave.conf").path],
                                          in: fx.dir, rows: 24, columns: 80)
        defer { stranger.stop() }
        XCTAssertTrue(stranger.waitFor("session \(request.id) not found"), stranger.text)
        XCTAssertFalse(agent.text.contains("dave"), agent.text)

        // 1. The user says no: bob is refused, and alice heard both the asking and the answer.
        let refused = try PseudoTerminal(Harness.tool("tandem"), ["join", request.id] + bobConfig, in: fx.dir, rows: 24, columns: 80)
        defer { refused.stop() }
        XCTAssertTrue(refused.waitFor("asking the end-user to let you watch session \(request.id)"), refused.text)
        XCTAssertTrue(agent.waitFor(question), agent.text)
        XCTAssertTrue(alice.waitFor("bob asks to join this session (watching); the user is asked"), alice.text)
        agent.type("n\r")
        XCTAssertTrue(refused.waitFor("the user refused; nothing is shared"), refused.text)
        XCTAssertTrue(alice.waitFor("the user did not let bob join (refused)"), alice.text)

        // 2. Yes: bob watches. He sees alice's command and its output; what he types goes nowhere.
        let bob = try PseudoTerminal(Harness.tool("tandem"), ["join", request.id, "--observe"] + bobConfig, in: fx.dir, rows: 24, columns: 80)
        defer { bob.stop() }
        XCTAssertTrue(Harness.waitUntil(15) { self.occurrences(question, in: agent.text) == 2 }, agent.text)
        agent.type("y\r")
        XCTAssertTrue(bob.waitFor("the user agreed: you are in session \(request.id) (read-only"), bob.text)
        XCTAssertTrue(alice.waitFor("bob joined this session, watching"), alice.text)
        XCTAssertTrue(agent.waitFor("bob joined this session, watching"), agent.text)
        XCTAssertNotNil(agent.waitForMatch("● alice, bob \\(watching\\) are connected · ticket #1"), agent.text)
        alice.type("echo seen-$((6*7))\r")
        XCTAssertTrue(alice.waitFor("seen-42"), alice.text)
        XCTAssertTrue(bob.waitFor("seen-42"), bob.text)
        bob.type("echo observer-$((2*5))\r")
        alice.type("echo barrier-$((3*3))\r")
        XCTAssertTrue(alice.waitFor("barrier-9"), alice.text)
        XCTAssertTrue(bob.waitFor("barrier-9"), bob.text)
        XCTAssertFalse(alice.text.contains("observer"), "a watcher's typing reached the shell: \(alice.text)")
        // Ctrl-] leaves; everyone is told, and the status line has alice alone again.
        bob.type("\u{1D}")
        XCTAssertTrue(alice.waitFor("bob left this session"), alice.text)
        XCTAssertTrue(agent.waitFor("bob left this session"), agent.text)

        // 3. A pair, after the user's yes, types into the shell.
        let pair = try PseudoTerminal(Harness.tool("tandem"), ["join", request.id, "--pair"] + bobConfig, in: fx.dir, rows: 24, columns: 80)
        defer { pair.stop() }
        XCTAssertTrue(agent.waitFor("bob from your support team wants to join this session and type in its shell. Allow? [y/N]"), agent.text)
        agent.type("y\r")
        XCTAssertTrue(pair.waitFor("(you may type; Ctrl-] leaves)"), pair.text)
        XCTAssertNotNil(agent.waitForMatch("● alice, bob \\(typing\\) are connected"), agent.text)
        pair.type("echo pair-$((4*5))\r")
        XCTAssertTrue(alice.waitFor("pair-20"), alice.text)
        XCTAssertTrue(pair.waitFor("pair-20"), pair.text)

        // 4. An auditor watches without a question (live-watch = tell, the default); the user is
        // told. Typing is not an auditor's to ask for.
        let carolConfig = ["--config", fx.dir.appendingPathComponent("carol.conf").path]
        let typing = try PseudoTerminal(Harness.tool("tandem"), ["join", request.id, "--pair"] + carolConfig, in: fx.dir, rows: 24, columns: 80)
        defer { typing.stop() }
        XCTAssertTrue(typing.waitFor("auditors may watch a session (tandem join --observe) but not type in it"), typing.text)
        let carol = try PseudoTerminal(Harness.tool("tandem"), ["join", request.id] + carolConfig, in: fx.dir, rows: 24, columns: 80)
        defer { carol.stop() }
        XCTAssertTrue(carol.waitFor("the user is told you are watching: you are in session"), carol.text)
        XCTAssertTrue(agent.waitFor("carol (auditor) joined this session, watching"), agent.text)
        XCTAssertFalse(agent.text.contains("carol (auditor) from your support team"), "the auditor was not asked about: \(agent.text)")

        // Every step is on the session's record, by whom and how.
        XCTAssertTrue(Harness.waitUntil(10) {
            ((try? fx.sql("SELECT count(*) FROM events WHERE kind = 'participant_joined'")) ?? "").trimmingCharacters(in: .whitespacesAndNewlines) == "3"
        })
        let steps = try fx.sql("""
            SELECT kind || ' ' || actor || ' ' || coalesce(json_extract(data, '$.mode'), '') || ' ' || coalesce(json_extract(data, '$.answer'), json_extract(data, '$.consent'), '')
            FROM events WHERE kind LIKE 'participant_%' ORDER BY id
            """).split(separator: "\n").map(String.init)
        XCTAssertEqual(steps, [
            "participant_refused bob observe refused",
            "participant_joined bob observe asked",
            "participant_left bob observe ",
            "participant_joined bob pair asked",
            "participant_joined carol observe told",
        ])

        // The shell's recording, once it is closed: the pair's typing is in it as input, the
        // watcher's is nowhere in it.
        alice.type("exit\r")
        var sha = ""
        XCTAssertTrue(Harness.waitUntil(15) {
            sha = ((try? fx.sql("SELECT json_extract(data, '$.recording_sha256') FROM events WHERE kind = 'channel_closed' AND json_extract(data, '$.channel') = 'shell'")) ?? "")
                .trimmingCharacters(in: .whitespacesAndNewlines)
            return !sha.isEmpty
        })
        let cast = try String(contentsOf: fx.data.appendingPathComponent("recordings/\(sha).cast"), encoding: .utf8)
        let typed = cast.split(separator: "\n").dropFirst().compactMap { line -> String? in
            guard let frame = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [Any], frame.count == 3,
                  frame[1] as? String == "i" else { return nil }
            return frame[2] as? String
        }.joined()
        XCTAssertTrue(typed.contains("echo pair-$((4*5))"), "the pair's typing is recorded as input: \(typed.debugDescription)")
        XCTAssertTrue(typed.contains("echo seen-$((6*7))"), "alice's too: \(typed.debugDescription)")
        XCTAssertFalse(typed.contains("observer"), "a watcher's typing reached the shell: \(typed.debugDescription)")
    }

    func testWithLiveWatchOffNobodyWatchesByPolicyAndTheOwnerIsPointedAtTheirShell() throws {
        let fx = try BrokerFixture(name: "join-policy", serveArguments: ["--live-watch", "off"])
        defer { fx.stopAll() }
        try fx.addUser("carol", role: "auditor")
        let (id, agent) = try fx.activeSession()
        let alice = try PseudoTerminal(Harness.tool("tandem"), ["shell", id] + fx.cliConfig, in: fx.dir, rows: 24, columns: 80)
        defer { alice.stop() }
        XCTAssertNotNil(alice.waitForMatch("[$#] "), alice.text)
        let carol = try PseudoTerminal(Harness.tool("tandem"), ["join", id, "--config", fx.dir.appendingPathComponent("carol.conf").path],
                                       in: fx.dir, rows: 24, columns: 80)
        defer { carol.stop() }
        XCTAssertTrue(carol.waitFor("this broker does not let sessions be watched live (live-watch = off)"), carol.text)
        XCTAssertFalse(agent.stderr.contains("carol"), "nothing was asked or shown: \(agent.stderr)")
        let refused = try fx.sql("SELECT actor || ' ' || json_extract(data, '$.answer') FROM events WHERE kind = 'participant_refused'")
        XCTAssertEqual(refused.trimmingCharacters(in: .whitespacesAndNewlines), "carol policy")
        // The owner is pointed at their own shell rather than asked about.
        let own = try PseudoTerminal(Harness.tool("tandem"), ["join", id] + fx.cliConfig, in: fx.dir, rows: 24, columns: 80)
        defer { own.stop() }
        XCTAssertTrue(own.waitFor("session \(id) is yours: use 'tandem shell \(id)'"), own.text)
    }
}
