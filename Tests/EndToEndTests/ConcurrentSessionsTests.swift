import Foundation
import XCTest

/// Many sessions at once on one broker, driven by the benchmark's load generator.
final class ConcurrentSessionsTests: XCTestCase {
    func testManySimultaneousSessionsEachRelayAndRecordTheirOwnShell() throws {
        let fx = try BrokerFixture(name: "concurrent")
        defer { fx.stopAll() }
        let keys = try fx.addLoadUser()
        let sessions = 20
        let run = try runTool(Harness.tool("tandem-loadgen"), [
            "run", "--broker", "127.0.0.1:\(fx.port)", "--ca", fx.dir.appendingPathComponent("certs/ca.crt").path,
            "--key", keys.appendingPathComponent("load.key").path, "--broker-pid", "\(fx.broker.process.processIdentifier)",
            "--sessions", "\(sessions)", "--seconds", "3", "--parallel", "8",
        ], in: fx.dir, timeout: 120)
        XCTAssertEqual(run.status, 0, run.stderr)
        // | N | rss idle | rss load | per session | cpu | key p50 | key p99 | cmd p99 | commands | set-up |
        let cells = run.stdout.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        XCTAssertEqual(cells.first, "\(sessions)", run.stdout)
        let commands = Int(cells.count > 8 ? cells[8] : "") ?? 0
        // 30 sessions (with 10 warm-up ones) for 3 s: each ran `echo` at least twice and got its own answer.
        XCTAssertGreaterThanOrEqual(commands, 2 * (sessions + 10), run.stdout)

        // Every session was approved, recorded on its own, and the chain still verifies.
        let shells = sessions + 10 + 1
        let recordings = fx.data.appendingPathComponent("recordings")
        var casts: [String] = []
        XCTAssertTrue(Harness.waitUntil(15) {
            casts = ((try? FileManager.default.contentsOfDirectory(atPath: recordings.path)) ?? []).filter { $0.hasSuffix(".cast") }
            return casts.count == shells
        }, "\(casts.count) recordings")
        for name in casts {
            let text = try String(contentsOf: recordings.appendingPathComponent(name), encoding: .utf8)
            XCTAssertTrue(text.contains("$ "), "\(name) has the shell's prompt")
        }
        let kinds = try fx.eventKinds()
        XCTAssertEqual(kinds.filter { $0 == "approved" }.count, shells)
        XCTAssertEqual(kinds.filter { $0 == "shell_started" }.count, shells)
        try fx.addUser("carol", role: "auditor")
        let verify = try fx.tandem(as: "carol", ["audit", "verify", "--ticket", "1"])
        XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
    }
}
