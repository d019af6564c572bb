import Foundation
import XCTest

/// Issue 10, acceptance 1: SIGTERM ends every session on record and exits 0; a SIGKILL loses no
/// recorded byte, because the next start finishes and names what was left.
final class LifecycleTests: XCTestCase {
    private func recordings(_ fx: BrokerFixture) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: fx.data.appendingPathComponent("recordings").path)) ?? []
    }

    private func shell(_ fx: BrokerFixture, _ id: String, typing marker: String) throws -> PseudoTerminal {
        let term = try PseudoTerminal(Harness.tool("tandem"), ["shell", id] + fx.cliConfig, in: fx.dir)
        XCTAssertNotNil(term.waitForMatch("[$#] "), term.text)
        term.type("echo \(marker)\r")
        XCTAssertTrue(term.waitFor("\(marker)\r\n"), term.text)
        return term
    }

    func testSIGTERMEndsEverySessionOnRecordAndExitsZero() throws {
        let fx = try BrokerFixture(name: "sigterm")
        defer { fx.stopAll() }
        let (id, agent) = try fx.activeSession()
        let term = try shell(fx, id, typing: "typed-before-stop")
        defer { term.stop() }

        kill(fx.broker.process.processIdentifier, SIGTERM)
        XCTAssertEqual(fx.broker.wait(10), 0, "exits 0 within 10 s: \(fx.broker.stderr)")
        XCTAssertTrue(term.waitFor("the session ended: broker stopping"), term.text)
        XCTAssertEqual(agent.wait(10), 0)
        XCTAssertTrue(agent.stderr.contains("ended: broker stopping"), agent.stderr)

        let files = recordings(fx)
        XCTAssertFalse(files.contains { $0.hasSuffix(".part") }, "\(files)")
        let named = try fx.sql("SELECT json_extract(data, '$.recording_sha256') FROM events WHERE json_extract(data, '$.channel') = 'shell'")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(files.contains(named + ".cast"), "the shell's recording is finished and named: \(named) in \(files)")
        let cast = try String(contentsOf: fx.data.appendingPathComponent("recordings/\(named).cast"), encoding: .utf8)
        XCTAssertTrue(cast.contains("typed-before-stop"))
        let kinds = try fx.eventKinds()
        XCTAssertTrue(kinds.contains("ended"), "\(kinds)")
        let unsigned = try fx.sql("SELECT COUNT(*) FROM events e WHERE e.chain = 1 AND e.seq > (SELECT COALESCE(MAX(seq), 0) FROM checkpoints WHERE chain = 1)")
        XCTAssertEqual(unsigned, "0\n", "a final checkpoint covers every event")

        try fx.startBroker()
        let verify = try fx.tandem(["audit", "verify", "--ticket", "1"])
        XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
    }

    func testAfterSIGKILLTheNextStartFinishesAndChainsThePartialRecording() throws {
        let fx = try BrokerFixture(name: "sigkill")
        defer { fx.stopAll() }
        let (id, _) = try fx.activeSession()
        let term = try shell(fx, id, typing: "typed-before-kill")
        defer { term.stop() }
        // Killed only once the typed line is on disk in the unfinished recording.
        let dir = fx.data.appendingPathComponent("recordings")
        XCTAssertTrue(Harness.waitUntil(10) {
            self.recordings(fx).contains { name in
                name.hasSuffix(".part")
                    && ((try? String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)) ?? "").contains("typed-before-kill")
            }
        })
        kill(fx.broker.process.processIdentifier, SIGKILL)
        fx.broker.process.waitUntilExit()

        try fx.startBroker()
        XCTAssertFalse(recordings(fx).contains { $0.hasSuffix(".part") }, "\(recordings(fx))")
        let recovered = try fx.sql("SELECT json_extract(data, '$.recording_sha256') FROM events WHERE kind = 'recording_recovered'")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(recovered.count, 64, "one recovered recording, named on the ticket")
        let cast = try String(contentsOf: dir.appendingPathComponent("\(recovered).cast"), encoding: .utf8)
        XCTAssertTrue(cast.contains("typed-before-kill"))
        XCTAssertEqual(try fx.sql("SELECT chain FROM events WHERE kind = 'recording_recovered'"), "1\n")
        let verify = try fx.tandem(["audit", "verify", "--ticket", "1"])
        XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
    }
}
