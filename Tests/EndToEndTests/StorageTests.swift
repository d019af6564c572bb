import Foundation
import XCTest

/// Issue 9, acceptance 5: a full disk ends the session that cannot be recorded, on both sides,
/// and nothing else: the broker stays up, the record stays whole, new sessions wait for space.
final class StorageTests: XCTestCase {
    private func eventIDs(_ fx: BrokerFixture) throws -> [String] {
        try fx.sql("SELECT id || ':' || hash FROM events ORDER BY id").split(separator: "\n").map(String.init)
    }

    func testAFullDiskEndsTheSessionKeepsTheBrokerUpAndRefusesNewSessionsUntilSpaceReturns() throws {
        let fx = try BrokerFixture(name: "disk-full", serveArguments: ["--storage-reserve-bytes", "4194304"], tmpfsMiB: 20)
        defer { fx.stopAll() }
        let (id, agent) = try fx.activeSession()
        XCTAssertEqual(try fx.tandem(["exec", id], after: ["--", "echo", "before-the-disk-filled"]).stdout, "before-the-disk-filled\n")
        XCTAssertTrue(Harness.waitUntil(10) { (try? fx.eventKinds().filter { $0 == "channel_closed" }.count) == 1 })
        let before = try eventIDs(fx)

        // Output until the disk is full: the recording cannot keep up, so the session ends.
        let flood = try fx.tandem(["exec", id], after: ["--", "yes tandem-fills-the-disk-with-this-line"], timeout: 120)
        XCTAssertNotNil(flood.status, "the flood ended by itself")
        XCTAssertNotEqual(flood.status, 0)
        XCTAssertTrue(flood.stderr.contains("the session ended: broker storage full"), flood.stderr.suffix(300).description)
        XCTAssertEqual(agent.wait(20), 0, "the agent stops by itself")
        XCTAssertTrue(agent.stderr.contains("ended: broker storage full"), agent.stderr)

        // The broker is up, nothing earlier was lost, and the chain still verifies.
        XCTAssertTrue(fx.broker.process.isRunning, fx.broker.stderr)
        XCTAssertTrue(fx.broker.stderr.contains("broker storage full"), fx.broker.stderr)
        let after = try eventIDs(fx)
        XCTAssertEqual(Array(after.prefix(before.count)), before, "every earlier event is there, unchanged")
        // `ended` waits for the channel's end, which names the cut recording and marks it as cut.
        var kinds: [String] = []
        XCTAssertTrue(Harness.waitUntil(15) {
            kinds = (try? fx.eventKinds()) ?? []
            return kinds.contains("ended")
        }, "\(kinds)")
        XCTAssertTrue(kinds.contains("storage_full"), "\(kinds)")
        XCTAssertEqual(kinds.last, "ended", "the session's end is its last event: \(kinds)")
        let closed = try fx.sql("SELECT json_extract(data, '$.recording_incomplete') FROM events WHERE kind = 'channel_closed' "
                                + "AND json_extract(data, '$.recording_incomplete') IS NOT NULL")
        XCTAssertTrue(closed.contains("broker storage full"), closed)
        let verify = try fx.tandem(["audit", "verify", "--ticket", "1"])
        XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)

        // New sessions wait for space.
        let refused = try fx.tandem(["session", "new", "--ticket", "1", "--no-shell"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("broker storage full"), refused.stderr)

        // The operator makes room: a new session works, recording and all.
        try fx.resizeData(toMiB: 64)
        let request = try fx.requestSession(ticket: 1)
        let second = try fx.agent(code: request.code, answer: "y")
        defer { second.stop() }
        XCTAssertEqual(request.child.wait(20), 0, request.child.stderr)
        let works = try fx.tandem(["exec", request.id], after: ["--", "echo", "room-again"])
        XCTAssertEqual(works.stdout, "room-again\n", works.stderr)
        XCTAssertTrue(try fx.eventKinds().contains("storage_recovered"))
    }
}

/// Issue 9, point 5: the per-session recording cap, a damaged database, and a store error at login.
final class StorageLimitsTests: XCTestCase {
    func testASessionPastItsRecordingCapEndsWithThatReason() throws {
        let fx = try BrokerFixture(name: "recording-cap", serveArguments: ["--max-recording-bytes", "200000"])
        defer { fx.stopAll() }
        let (id, agent) = try fx.activeSession()
        // Output for 20 seconds, far past the cap within the first second.
        let big = try fx.tandem(["exec", id], after: ["--", "for i in $(seq 1 400); do head -c 20000 /dev/zero | tr '\\\\0' x; sleep 0.05; done"],
                                timeout: 60)
        XCTAssertNotEqual(big.status, 0)
        XCTAssertTrue(big.stderr.contains("the session ended: the session reached its recording limit (195.3 KiB)"), big.stderr)
        XCTAssertEqual(agent.wait(20), 0)
        XCTAssertTrue(agent.stderr.contains("reached its recording limit"), agent.stderr)
        XCTAssertTrue(Harness.waitUntil(10) {
            ((try? fx.sql("SELECT COUNT(*) FROM events WHERE kind = 'channel_closed' AND data LIKE '%recording_incomplete%'")) ?? "") == "1\n"
        })
        let bytes = try fx.sql("SELECT json_extract(data, '$.recording_bytes') FROM events WHERE data LIKE '%recording_incomplete%'")
        XCTAssertLessThanOrEqual(Int(bytes.trimmingCharacters(in: .whitespacesAndNewlines)) ?? .max, 200_000, "never past the cap")
        XCTAssertEqual(try fx.tandem(["audit", "verify", "--ticket", "1"]).status, 0)
    }

    func testADamagedDatabaseStopsTheStartAndTandemdCheckSaysWhatToDo() throws {
        let fx = try BrokerFixture(name: "damaged-db")
        defer { fx.stopAll() }
        _ = try fx.activeSession()
        let good = try runTool(Harness.tool("tandemd"), ["check", "--data", fx.data.path], in: fx.dir)
        XCTAssertEqual(good.status, 0, good.stdout)
        XCTAssertTrue(good.stdout.contains("database: ok") && good.stdout.contains("audit log: OK"), good.stdout)
        fx.stopAll()

        // Damage every page's header after the first, as a failing disk would.
        let db = fx.data.appendingPathComponent("tandem.db").path
        XCTAssertEqual(try runTool("/usr/bin/sqlite3", [db, "PRAGMA wal_checkpoint(TRUNCATE);"], in: fx.dir).status, 0)
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: db))
        let size = try handle.seekToEnd()
        XCTAssertGreaterThan(size, 8192)
        var page: UInt64 = 4096
        while page + 64 < size {
            try handle.seek(toOffset: page)
            try handle.write(contentsOf: Data(repeating: 0xA5, count: 64))
            page += 4096
        }
        try handle.close()

        let serve = try runTool(Harness.tool("tandemd"), ["serve", "--data", fx.data.path, "--listen", "127.0.0.1:0",
                                                          "--cert", "certs/broker.crt", "--key", "certs/broker.key"], in: fx.dir, timeout: 20)
        XCTAssertNotNil(serve.status, "serve refuses at once instead of running")
        XCTAssertNotEqual(serve.status, 0)
        XCTAssertTrue(serve.stderr.contains("is damaged") && serve.stderr.contains("restore tandem.db from your last backup"), serve.stderr)
        XCTAssertFalse(serve.stdout.contains("listening on"), serve.stdout)
        let check = try runTool(Harness.tool("tandemd"), ["check", "--data", fx.data.path], in: fx.dir)
        XCTAssertEqual(check.status, 1, check.stdout)
        XCTAssertTrue(check.stdout.contains("is damaged"), check.stdout)
    }

    func testAStoreErrorAtLoginIsABrokerErrorNotARefusedKey() throws {
        let fx = try BrokerFixture(name: "login-store-error")
        defer { fx.stopAll() }
        XCTAssertEqual(try fx.tandem(["ticket", "list"]).status, 0)
        try fx.sql("ALTER TABLE users RENAME TO users_away")
        let failed = try fx.tandem(["ticket", "list"])
        XCTAssertNotEqual(failed.status, 0)
        XCTAssertTrue(failed.stderr.contains("a problem at the broker, not with your key"), failed.stderr)
        XCTAssertFalse(failed.stderr.contains("key refused") || failed.stderr.contains("did not accept your key"), failed.stderr)
        XCTAssertTrue(fx.broker.stderr.contains("the broker could not read its users"), fx.broker.stderr)
        try fx.sql("ALTER TABLE users_away RENAME TO users")
        XCTAssertEqual(try fx.tandem(["ticket", "list"]).status, 0, "and all is well once the store is")
    }
}
