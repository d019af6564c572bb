import Foundation
import XCTest

/// Issue 10, acceptance 6: /metrics scraped before and after a session shows the counters and the
/// append-latency histogram move (the test parses the Prometheus text format).
final class MetricsTests: XCTestCase {
    /// `name{labels}` → value, from the Prometheus text format; comments skipped, anything else a failure.
    private func parse(_ text: String) throws -> [String: Double] {
        var values: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                throw Failure("not a Prometheus sample line: \(line)")
            }
            values[String(line[..<space])] = value
        }
        return values
    }

    private func scrape(_ port: Int, in dir: URL) throws -> [String: Double] {
        let get = try runTool("/usr/bin/python3", ["-c", """
            import sys, urllib.request
            r = urllib.request.urlopen("http://127.0.0.1:\(port)/metrics", timeout=10)
            sys.stdout.write(r.headers.get("Content-Type") + "\\n" + r.read().decode())
            """], in: dir)
        guard get.status == 0 else { throw Failure("scrape failed: \(get.stderr)") }
        let lines = get.stdout.split(separator: "\n", maxSplits: 1)
        XCTAssertTrue(lines.first?.hasPrefix("text/plain; version=0.0.4") ?? false, get.stdout.prefix(80).description)
        return try parse(lines.count > 1 ? String(lines[1]) : "")
    }

    func testScrapesBeforeAndAfterASessionShowItsCountersAndTheAppendHistogram() throws {
        let fx = try BrokerFixture(name: "metrics", serveArguments: ["--metrics-listen", "127.0.0.1:0"])
        defer { fx.stopAll() }
        XCTAssertTrue(Harness.waitUntil(10) { fx.broker.stdout.contains("tandemd metrics on 127.0.0.1:") }, fx.broker.stdout)
        let port = Int(fx.broker.stdout.components(separatedBy: "tandemd metrics on 127.0.0.1:")[1].prefix { $0.isNumber }) ?? 0
        let before = try scrape(port, in: fx.dir)

        let (id, agent) = try fx.activeSession()
        XCTAssertEqual(try fx.tandem(["exec", "-n", id], after: ["--", "echo", "counted"]).stdout, "counted\n")
        XCTAssertEqual(try fx.tandem(["session", "end", id]).status, 0)
        XCTAssertEqual(agent.wait(20), 0)
        let wrong = try fx.agent(code: "111 111 111", answer: nil)
        _ = wrong.wait(20)
        // Gauges are read each second: wait (bounded) until they show the session over and the chains signed.
        var after: [String: Double] = [:]
        XCTAssertTrue(Harness.waitUntil(10) {
            after = (try? self.scrape(port, in: fx.dir)) ?? [:]
            return after[#"tandem_sessions{state="active"}"#] == 0 && (after["tandem_checkpoint_age_seconds"] ?? 0) > 0
        }, "\(after.filter { $0.key.hasPrefix("tandem_sessions") || $0.key.hasPrefix("tandem_checkpoint") })")
        // The session's ticket was signed at its end; the wrong code's refusal on the broker log is not signed
        // yet (the interval timer does that), so the age counts from it: how long it has waited, no longer.
        XCTAssertLessThan(after["tandem_checkpoint_age_seconds"] ?? .infinity, 30)

        func moved(_ name: String) -> Double { (after[name] ?? 0) - (before[name] ?? 0) }
        XCTAssertEqual(moved(#"tandem_pairings_total{outcome="approved"}"#), 1, "\(after)")
        XCTAssertEqual(moved(#"tandem_code_guesses_refused_total{reason="unknown_code"}"#), 1)
        XCTAssertEqual(moved(#"tandem_refusals_total{kind="join_refused"}"#), 1)
        XCTAssertGreaterThan(moved(#"tandem_bytes_relayed_total{direction="from_agent"}"#), 0)
        // Every event of the session went through the append histogram: its count and sum grew, and the
        // buckets are cumulative up to +Inf.
        XCTAssertGreaterThan(moved("tandem_event_append_seconds_count"), 0)
        XCTAssertGreaterThan(moved("tandem_event_append_seconds_sum"), 0)
        XCTAssertEqual(after[#"tandem_event_append_seconds_bucket{le="+Inf"}"#], after["tandem_event_append_seconds_count"])
    }
}
