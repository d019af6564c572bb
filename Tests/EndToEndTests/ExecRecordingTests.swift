import Crypto
import Foundation
import XCTest

/// Issue 9, acceptance 7: what the technician ran is kept whole, and what it printed replays.
final class ExecRecordingTests: XCTestCase {
    private func events(_ fx: BrokerFixture, kind: String) throws -> [[String: String]] {
        let log = try fx.tandem(["audit", "log", "--ticket", "1", "--json"])
        return log.stdout.split(separator: "\n").compactMap { line -> [String: String]? in
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  obj["kind"] as? String == kind else { return nil }
            return obj["data"] as? [String: String]
        }
    }

    func testA10KiBCommandIsStoredWholeAndALongerOneIsRefusedNotCut() throws {
        let fx = try BrokerFixture(name: "exec-whole")
        defer { fx.stopAll() }
        let (id, _) = try fx.activeSession()
        let filler = String(repeating: "0123456789abcdef", count: 640)  // 10 KiB
        let command = ": \(filler); echo whole-\(filler.count)"
        let run = try fx.tandem(["exec", id], after: ["--", command])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.stdout, "whole-10240\n")
        XCTAssertEqual(try events(fx, kind: "exec").map { $0["command"] }, [command], "stored byte for byte")

        let tooLong = ": " + String(repeating: "x", count: 17 * 1024)
        let refused = try fx.tandem(["exec", id], after: ["--", tooLong])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.stderr.contains("the broker accepts at most 16384"), refused.stderr)
        XCTAssertEqual(try events(fx, kind: "exec").count, 1, "a refused command runs nothing and is not stored cut")
    }

    func testExecOutputIsRecordedNamedOnTheTicketAndReplays() throws {
        let fx = try BrokerFixture(name: "exec-replay")
        defer { fx.stopAll() }
        let (id, _) = try fx.activeSession()
        // Output on both streams, and a clipboard write and a title change the player must drop.
        let script = #"echo out-marker; echo err-marker >&2; printf '\033]52;c;cHduZWQ=\007\033]0;title\007seen\n'"#
        let run = try fx.tandem(["exec", id], after: ["--", script])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(Harness.waitUntil(10) { ((try? self.events(fx, kind: "channel_closed")) ?? []).contains { $0["channel"] == "exec" } })
        let closed = try XCTUnwrap(try events(fx, kind: "channel_closed").first { $0["channel"] == "exec" })
        let sha = try XCTUnwrap(closed["recording_sha256"], "the exec's channel_closed names its recording")
        let stored = try Data(contentsOf: fx.data.appendingPathComponent("recordings/\(sha).cast"))
        XCTAssertEqual(SHA256.hash(data: stored).map { String(format: "%02x", $0) }.joined(), sha, "the file is addressed by its content")

        let replay = try fx.tandem(["audit", "replay", id, "--speed", "100"])
        XCTAssertEqual(replay.status, 0, replay.stderr)
        for marker in ["out-marker", "err-marker", "seen"] {
            XCTAssertTrue(replay.stdout.contains(marker), "replay lacks \(marker): \(replay.stdout.debugDescription)")
        }
        XCTAssertFalse(replay.stdout.contains("\u{1B}]52"), "a clipboard write is not replayed by default")
        XCTAssertFalse(replay.stdout.contains("\u{1B}]0;"), "nor a title change")
        XCTAssertTrue(replay.stderr.contains("2 sequences acting outside the screen not played"), replay.stderr)
        let raw = try fx.tandem(["audit", "replay", id, "--speed", "100", "--raw"])
        XCTAssertTrue(raw.stdout.contains("\u{1B}]52;c;cHduZWQ=\u{7}"), "--raw plays what was recorded")
        let verify = try fx.tandem(["audit", "verify", "--ticket", "1"])
        XCTAssertEqual(verify.status, 0, "the recording is covered by the chain: \(verify.stdout) \(verify.stderr)")
    }
}
