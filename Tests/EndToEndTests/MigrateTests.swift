import Foundation
import XCTest

/// Issue 10, acceptance 4: `tandemd migrate` copies a SQLite broker into PostgreSQL with every
/// chain intact, and the broker then runs on PostgreSQL with the same record.
final class MigrateTests: XCTestCase {
    func testASQLiteBrokerMovesToPostgreSQLAndItsRecordStillVerifies() throws {
        guard ProcessInfo.processInfo.environment["TANDEM_TEST_DATABASE"] != "postgres" else {
            throw XCTSkip("this test starts on SQLite; it runs in the main pass")
        }
        let fx = try BrokerFixture(name: "migrate")
        defer { fx.stopAll() }
        let target = try BrokerFixture.newPostgresDatabase(in: fx.dir)
        let (id, _) = try fx.activeSession()
        XCTAssertEqual(try fx.tandem(["exec", "-n", id], after: ["--", "echo", "before-the-move"]).stdout, "before-the-move\n")
        XCTAssertEqual(try fx.tandem(["session", "end", id]).status, 0)
        XCTAssertTrue(Harness.waitUntil(10) { (try? fx.eventKinds())?.last == "ended" })
        fx.broker.stop()
        // A helpdesk link and an outbox row travel too.
        try fx.sql("""
            UPDATE tickets SET external = 'rt:77' WHERE id = 1;
            INSERT INTO outbox(sink, chain, event_id, state, attempts, next_us, batch, created_us) VALUES('rt', 1, 3, 'delivered', 1, 5, 'td1-x', 5)
            """)
        let before = try fx.sql("SELECT id || '|' || chain || '|' || seq || '|' || hash FROM events ORDER BY id")
        let marks = try fx.sql("SELECT chain || '|' || seq || '|' || signature FROM checkpoints ORDER BY id")
        let eventCount = before.split(separator: "\n").count

        let migrate = try runTool(Harness.tool("tandemd"), ["migrate", "--data", fx.data.path, "--to", target], in: fx.dir, timeout: 60)
        XCTAssertEqual(migrate.status, 0, migrate.stdout + migrate.stderr)
        XCTAssertTrue(migrate.stdout.contains("copied \(eventCount) events"), migrate.stdout)
        XCTAssertTrue(migrate.stdout.contains("OK: \(eventCount) events"), migrate.stdout)

        // Into a database that already holds a broker: refused, nothing changed.
        let again = try runTool(Harness.tool("tandemd"), ["migrate", "--data", fx.data.path, "--to", target], in: fx.dir, timeout: 60)
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.stderr.contains("already holds a broker's data"), again.stderr)

        // The same events, ids and hashes, and the same signatures, now in PostgreSQL.
        let url = String(target.prefix { $0 != "?" })
        let psql = { (query: String) throws -> String in
            let r = try runTool("/usr/bin/psql", [url, "-q", "-At", "-c", query], in: fx.dir)
            guard r.status == 0 else { throw Failure("psql: \(r.stderr)") }
            return r.stdout
        }
        XCTAssertEqual(try psql("SELECT id || '|' || chain || '|' || seq || '|' || hash FROM events ORDER BY id"), before)
        XCTAssertEqual(try psql("SELECT chain || '|' || seq || '|' || signature FROM checkpoints ORDER BY id"), marks)
        XCTAssertEqual(try psql("SELECT external FROM tickets WHERE id = 1"), "rt:77\n")
        XCTAssertEqual(try psql("SELECT id || '|' || sink || '|' || state || '|' || batch FROM outbox"), "1|rt|delivered|td1-x\n")
        // The next outbox row follows the copied ones (the sequence was moved past them).
        XCTAssertEqual(try psql("INSERT INTO outbox(sink, chain, state, next_us, created_us) VALUES('rt', 1, 'failed', 0, 0) RETURNING id"), "2\n")

        // The broker on PostgreSQL: the old record verifies, and new work continues the same chain.
        setenv("TANDEM_DATABASE", target, 1)
        defer { unsetenv("TANDEM_DATABASE") }
        try fx.startBroker()
        let verify = try fx.tandem(["audit", "verify", "--ticket", "1"])
        XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
        let ticket = try fx.tandem(["ticket", "new", "After the move", "--requester", "jane"])
        XCTAssertTrue(ticket.stdout.contains("Ticket #2 created"), ticket.stdout + ticket.stderr)
        let show = try fx.tandem(["ticket", "show", "1"])
        XCTAssertTrue(show.stdout.contains("echo before-the-move"), show.stdout)
        XCTAssertEqual(try fx.tandem(["audit", "verify", "--ticket", "1"]).status, 0)
    }

    func testACopyThatDoesNotVerifyIsNotKept() throws {
        guard ProcessInfo.processInfo.environment["TANDEM_TEST_DATABASE"] != "postgres" else {
            throw XCTSkip("this test starts on SQLite; it runs in the main pass")
        }
        let fx = try BrokerFixture(name: "migrate-tampered")
        defer { fx.stopAll() }
        let target = try BrokerFixture.newPostgresDatabase(in: fx.dir)
        let (id, _) = try fx.activeSession()
        XCTAssertEqual(try fx.tandem(["exec", "-n", id], after: ["--", "echo", "x"]).status, 0)
        XCTAssertEqual(try fx.tandem(["session", "end", id]).status, 0)
        XCTAssertTrue(Harness.waitUntil(10) { (try? fx.eventKinds())?.last == "ended" })
        fx.broker.stop()
        // Someone edited the SQLite file: the copy would carry a broken chain, so none of it is kept.
        try fx.sql("UPDATE events SET actor = 'mallory' WHERE kind = 'exec'")
        let migrate = try runTool(Harness.tool("tandemd"), ["migrate", "--data", fx.data.path, "--to", target], in: fx.dir, timeout: 60)
        XCTAssertNotEqual(migrate.status, 0)
        XCTAssertTrue(migrate.stdout.contains("FAILED") || migrate.stdout.contains("altered"), migrate.stdout)
        XCTAssertTrue(migrate.stderr.contains("the copy does not verify; nothing was kept"), migrate.stderr)
        let url = String(target.prefix { $0 != "?" })
        let count = try runTool("/usr/bin/psql", [url, "-q", "-At", "-c", "SELECT COUNT(*) FROM events"], in: fx.dir)
        XCTAssertEqual(count.stdout, "0\n", count.stderr)
    }
}
