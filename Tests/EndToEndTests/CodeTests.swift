import Foundation
import XCTest

/// Acceptance 5: expired, reused and wrong codes each get their own message; guessing is rate-limited.
final class CodeTests: XCTestCase {
    func testExpiredReusedAndWrongCodesAreRefusedDistinctly() throws {
        let fx = try BrokerFixture(name: "codes", brokerConfig: "# from the config file\ncode-ttl = 2\n")
        defer { fx.stopAll() }
        XCTAssertEqual(try fx.tandem(["ticket", "new", "Mail", "--requester", "kim"]).status, 0)

        // Expired: the code outlives its 2-second lifetime.
        let stale = try fx.requestSession(ticket: 1)
        XCTAssertEqual(stale.child.wait(10), 5, "technician learns the code expired")
        XCTAssertTrue(stale.child.stderr.contains("expired"), stale.child.stderr)
        let expired = try fx.agent(code: stale.code, answer: "y")
        XCTAssertEqual(expired.wait(10), 2)
        XCTAssertTrue(expired.stderr.contains("That session code has expired"), expired.stderr)

        // Reused: a second agent with an already redeemed code.
        let fresh = try fx.requestSession(ticket: 1)
        let first = try fx.agent(code: fresh.code, answer: nil)
        XCTAssertTrue(Harness.waitUntil(10) { first.stderr.contains("[y/N]") })
        let second = try fx.agent(code: fresh.code, answer: "y")
        XCTAssertEqual(second.wait(10), 2)
        XCTAssertTrue(second.stderr.contains("already used"), second.stderr)
        first.send("n\n")
        XCTAssertEqual(first.wait(10), 1)

        // Wrong.
        let wrong = try fx.agent(code: "000000001", answer: "y")
        XCTAssertEqual(wrong.wait(10), 2)
        XCTAssertTrue(wrong.stderr.contains("not valid"), wrong.stderr)

        let messages = [expired.stderr, second.stderr, wrong.stderr].map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        XCTAssertEqual(Set(messages).count, 3, "each refusal reads differently")
        let kinds = try fx.eventKinds()
        XCTAssertEqual(kinds.filter { $0 == "join_refused" }.count, 3, "\(kinds)")
        // Codes are secrets: no log line and no stored event contains one.
        for code in [stale.code, fresh.code] {
            let digits = code.replacingOccurrences(of: " ", with: "")
            XCTAssertFalse(fx.broker.stderr.contains(digits))
            let dump = try runTool("/usr/bin/sqlite3", [fx.data.appendingPathComponent("tandem.db").path, ".dump"], in: fx.dir)
            XCTAssertFalse(dump.stdout.contains(digits))
        }
    }

    func testRateLimitRefusesEvenTheRightCodeUntilTheWindowPasses() throws {
        let fx = try BrokerFixture(name: "ratelimit", serveArguments: ["--guess-limit", "3", "--guess-window", "6"])
        defer { fx.stopAll() }
        XCTAssertEqual(try fx.tandem(["ticket", "new", "Printer", "--requester", "kim"]).status, 0)
        let request = try fx.requestSession(ticket: 1)
        for guess in ["111111111", "222222222", "333333333"] {
            let a = try fx.agent(code: guess, answer: "y")
            XCTAssertEqual(a.wait(10), 2)
            XCTAssertTrue(a.stderr.contains("not valid"), a.stderr)
        }
        let blocked = try fx.agent(code: request.code, answer: "y")
        XCTAssertEqual(blocked.wait(10), 2)
        XCTAssertTrue(blocked.stderr.contains("Too many wrong codes"), blocked.stderr)

        // Wait as long as the broker says (bounded by the 6-second window), then the right code works.
        let said = blocked.stderr.components(separatedBy: "Wait ").last.flatMap { Int($0.prefix { $0.isNumber }) }
        let wait = try XCTUnwrap(said, "the refusal says how long to wait: \(blocked.stderr)")
        XCTAssertLessThanOrEqual(wait, 6)
        Thread.sleep(forTimeInterval: Double(wait) + 0.5)
        let agent = try fx.agent(code: request.code, answer: "y")
        XCTAssertEqual(request.child.wait(20), 0, request.child.stderr)
        agent.stop()
        XCTAssertTrue(fx.broker.stderr.contains("too many wrong codes"), fx.broker.stderr)
    }
}
