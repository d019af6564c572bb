import Foundation
import XCTest

/// Issue 10, acceptance 3: sessions at once, each with an exec, a shell and an end while the
/// shell is open; every session's events are stored in causal order, `ended` is its last event,
/// carries the totals of its channels, and is covered by a signed checkpoint.
final class EventOrderTests: XCTestCase {
    private struct Row {
        var chain: Int
        var seq: Int
        var kind: String
        var channel: String
        var bytesToAgent: Int
        var bytesFromAgent: Int
        var recording: String
    }

    func testFiftyConcurrentSessionsStoreTheirEventsInCausalOrderWithEndedLastAndSigned() throws {
        let fx = try BrokerFixture(name: "event-order")
        defer { fx.stopAll() }
        let keys = try fx.addLoadUser()
        let sessions = 50
        let run = try runTool(Harness.tool("tandem-loadgen"), [
            "lifecycles", "--broker", "127.0.0.1:\(fx.port)", "--ca", fx.dir.appendingPathComponent("certs/ca.crt").path,
            "--key", keys.appendingPathComponent("load.key").path, "--sessions", "\(sessions)", "--tickets", "5",
        ], in: fx.dir, timeout: 240)
        XCTAssertEqual(run.status, 0, run.stderr)
        let ids = Set(run.stdout.split(separator: "\n").map(String.init))
        XCTAssertEqual(ids.count, sessions, run.stdout)

        // Every `ended` is signed as soon as it is stored: wait for the last one's checkpoint.
        // Plain SQL, the same on SQLite and PostgreSQL; the JSON is read here, and a row that does not read fails the test.
        let query = "SELECT session_id, chain, seq, kind, data FROM events WHERE session_id IS NOT NULL ORDER BY chain, seq"
        func load() throws -> [String: [Row]] {
            var bySession: [String: [Row]] = [:]
            for line in try fx.sql(query).split(separator: "\n") {
                let f = line.split(separator: "|", maxSplits: 4, omittingEmptySubsequences: false).map(String.init)
                guard f.count == 5, let data = try? JSONDecoder().decode([String: String].self, from: Data(f[4].utf8)) else {
                    throw Failure("an event row that does not read: \(line)")
                }
                bySession[f[0], default: []].append(Row(chain: Int(f[1]) ?? -1, seq: Int(f[2]) ?? -1, kind: f[3], channel: data["channel"] ?? "",
                                                        bytesToAgent: Int(data["bytes_to_agent"] ?? "0") ?? -1,
                                                        bytesFromAgent: Int(data["bytes_from_agent"] ?? "0") ?? -1,
                                                        recording: data["recording_sha256"] ?? ""))
            }
            return bySession
        }
        func signedHeads() throws -> [Int: Int] {
            var signed: [Int: Int] = [:]
            for line in try fx.sql("SELECT chain, MAX(seq) FROM checkpoints GROUP BY chain").split(separator: "\n") {
                let f = line.split(separator: "|").compactMap { Int($0) }
                if f.count == 2 { signed[f[0]] = f[1] }
            }
            return signed
        }
        // Every `ended` is signed as soon as it is stored: wait for the last one's checkpoint.
        XCTAssertTrue(Harness.waitUntil(20) {
            guard let bySession = try? load(), let signed = try? signedHeads() else { return false }
            return ids.allSatisfy { id in
                guard let ended = bySession[id]?.last(where: { $0.kind == "ended" }) else { return false }
                return (signed[ended.chain] ?? 0) >= ended.seq
            }
        }, "every session ended and was signed")
        // Then the broker stops, so nothing can arrive after the rows are read.
        fx.broker.stop()
        let bySession = try load()
        let signed = try signedHeads()
        for id in ids {
            if let ended = bySession[id]?.last(where: { $0.kind == "ended" }) {
                XCTAssertGreaterThanOrEqual(signed[ended.chain] ?? 0, ended.seq, "\(id): its end is signed")
            }
        }

        let recordings = fx.data.appendingPathComponent("recordings")
        for id in ids.sorted() {
            let rows = bySession[id] ?? []
            let kinds = rows.map(\.kind)
            XCTAssertEqual(Array(kinds.prefix(6)), ["session_requested", "code_issued", "join_accepted", "offered", "approved", "started"], id)
            XCTAssertEqual(kinds.last, "ended", "\(id): \(kinds)")
            XCTAssertEqual(kinds.filter { $0 == "ended" }.count, 1, "\(id): \(kinds)")
            XCTAssertEqual(Set(rows.map(\.chain)).count, 1, "\(id): one ticket's chain")
            // Each channel's start comes before its end, and both before `ended`.
            for (start, channel) in [("exec", "exec"), ("shell_started", "shell")] {
                let opened = rows.firstIndex { $0.kind == start }
                let closed = rows.firstIndex { $0.kind == "channel_closed" && $0.channel == channel }
                XCTAssertNotNil(opened, "\(id): no \(start) in \(kinds)")
                XCTAssertNotNil(closed, "\(id): no \(channel) close in \(kinds)")
                if let opened, let closed { XCTAssertLessThan(opened, closed, "\(id): \(kinds)") }
                if let closed, channel == "shell" {
                    let sha = rows[closed].recording
                    XCTAssertTrue(FileManager.default.fileExists(atPath: recordings.appendingPathComponent("\(sha).cast").path), "\(id): \(sha)")
                }
            }
            // `ended` carries what its channels moved: it was written after every channel's end.
            let channels = rows.filter { $0.kind == "channel_closed" }
            if let ended = rows.last, ended.kind == "ended" {
                XCTAssertEqual(ended.bytesToAgent, channels.map(\.bytesToAgent).reduce(0, +), id)
                XCTAssertEqual(ended.bytesFromAgent, channels.map(\.bytesFromAgent).reduce(0, +), id)
                XCTAssertGreaterThan(ended.bytesFromAgent, 0, id)
            }
        }

        try fx.startBroker()
        try fx.addUser("carol", role: "auditor")
        let chains = Set(bySession.values.compactMap { $0.first?.chain })
        XCTAssertEqual(chains.count, 5, "the sessions were spread over 5 tickets")
        for ticket in chains.sorted() {
            let verify = try fx.tandem(as: "carol", ["audit", "verify", "--ticket", "\(ticket)"])
            XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
        }
    }
}
