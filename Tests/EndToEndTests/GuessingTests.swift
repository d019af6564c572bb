import Foundation
import XCTest

/// Issue 9, acceptance 6: a flood of wrong codes lets nobody in, costs the broker a few rows
/// per source, and does not lock out the user who has the right code.
final class GuessingTests: XCTestCase {
    private var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Support/hostile_client.py").path
    }

    func testAFloodOfWrongCodesFromOneAndManySourcesLetsNobodyInAndLocksNobodyOut() throws {
        let fx = try BrokerFixture(name: "flood")
        defer { fx.stopAll() }
        XCTAssertEqual(try fx.tandem(["ticket", "new", "VPN down", "--requester", "kim"]).status, 0)
        let request = try fx.requestSession(ticket: 1)
        let right = request.code.replacingOccurrences(of: " ", with: "")
        let wrong = right == "000000001" ? "000000002" : "000000001"
        let before = Int(try fx.sql("SELECT COUNT(*) FROM events").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        let ca = fx.dir.appendingPathComponent("certs/ca.crt").path

        func flood(_ source: String, _ count: Int) throws -> Child {
            try Child("/usr/bin/python3", [script, "\(fx.port)", ca, "tandem-agent/1", "join", wrong, "\(count)", source],
                      in: fx.dir, name: "flood-\(source)")
        }
        let single = try flood("127.0.0.99", 200)
        let many = try (2...21).map { try flood("127.0.0.\($0)", 10) }
        for child in [single] + many {
            XCTAssertEqual(child.wait(120), 0, child.stderr)
        }
        let answers = ([single] + many).flatMap { $0.stdout.split(separator: "\n").map(String.init) }
        XCTAssertEqual(answers.count, 400, "every guess was answered")
        XCTAssertFalse(answers.contains("offer"), "no wrong code was let in")
        XCTAssertEqual(Set(answers), ["unknown", "rateLimited"])
        let singleAnswers = single.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(Array(singleAnswers.prefix(5)), Array(repeating: "unknown", count: 5))
        XCTAssertEqual(Set(singleAnswers.dropFirst(5)), ["rateLimited"], "over its limit the source is refused unseen")

        // A few rows per source, not one per guess.
        let rows = try fx.sql("SELECT actor, COUNT(*) FROM events WHERE id > \(before) GROUP BY actor")
            .split(separator: "\n").map { $0.split(separator: "|").map(String.init) }
        var perSource: [String: Int] = [:]
        for row in rows where row.count == 2 { perSource[row[0]] = Int(row[1]) }
        XCTAssertEqual(perSource.keys.filter { $0.hasPrefix("agent@127.0.0.") }.count, 21, "\(perSource)")
        for (actor, count) in perSource where actor.hasPrefix("agent@127.0.0.") {
            XCTAssertLessThanOrEqual(count, 6, "\(actor) wrote \(count) rows")
        }
        XCTAssertLessThanOrEqual(perSource.values.reduce(0, +), 21 * 6 + 5)

        // The user with the right code, from their own address, still joins.
        let agent = try fx.agent(code: request.code, answer: "y")
        defer { agent.stop() }
        XCTAssertEqual(request.child.wait(20), 0, request.child.stdout + request.child.stderr + agent.stderr)
        let exec = try fx.tandem(["exec", request.id], after: ["--", "echo", "joined"])
        XCTAssertEqual(exec.stdout, "joined\n", exec.stderr)
    }
}
