import Foundation
import XCTest

/// Acceptance 3 and 6: an interactive shell through a real terminal, resized, and recorded.
final class ShellTests: XCTestCase {
    func testInteractiveShellResizeAndRecording() throws {
        let fx = try BrokerFixture(name: "shell")
        defer { fx.stopAll() }
        let (id, _) = try fx.activeSession()

        let term = try PseudoTerminal(Harness.tool("tandem"), ["shell", id] + fx.cliConfig, in: fx.dir, rows: 24, columns: 80)
        defer { term.stop() }
        XCTAssertNotNil(term.waitForMatch("[$#] "), "no prompt: \(term.text)")
        term.type("echo hello-$RANDOM\r")
        let hello = term.waitForMatch("hello-[0-9]+\r?\n")
        XCTAssertNotNil(hello, "no echo output: \(term.text)")

        term.type("stty size\r")
        XCTAssertTrue(term.waitFor("24 80"), "initial size: \(term.text)")
        term.resize(rows: 50, columns: 132)
        Thread.sleep(forTimeInterval: 0.3)
        term.type("stty size\r")
        XCTAssertTrue(term.waitFor("50 132"), "resized: \(term.text)")

        term.type("exit 7\r")
        XCTAssertTrue(Harness.waitUntil(15) { !term.process.isRunning })
        XCTAssertEqual(term.process.terminationStatus, 7)

        // The recording is valid asciicast v2 that asciinema itself can play.
        let recordingsDir = fx.data.appendingPathComponent("recordings").path
        var recordings: [String] = []
        XCTAssertTrue(Harness.waitUntil(10) {
            recordings = ((try? FileManager.default.contentsOfDirectory(atPath: recordingsDir)) ?? []).filter { $0.hasSuffix(".cast") }
            return recordings.count == 1
        }, "\(recordings)")
        let cast = fx.data.appendingPathComponent("recordings/\(recordings[0])").path
        XCTAssertTrue(Harness.waitUntil(10) { ((try? String(contentsOfFile: cast, encoding: .utf8)) ?? "").contains("\"r\"") })
        let header = try String(contentsOfFile: cast, encoding: .utf8).split(separator: "\n")[0]
        let json = try JSONSerialization.jsonObject(with: Data(header.utf8)) as? [String: Any]
        XCTAssertEqual(json?["version"] as? Int, 2)
        // asciinema cat insists on a terminal of its own.
        let player = try PseudoTerminal("/usr/bin/asciinema", ["cat", cast], in: fx.dir)
        defer { player.stop() }
        XCTAssertTrue(Harness.waitUntil(15) { !player.process.isRunning })
        XCTAssertEqual(player.process.terminationStatus, 0)
        let played = player.text
        XCTAssertTrue(played.contains("echo hello-$RANDOM"), played)
        if let hello { XCTAssertTrue(played.contains(hello.trimmingCharacters(in: .whitespacesAndNewlines)), played) }
        XCTAssertTrue(played.contains("50 132"), played)
        let kinds = try fx.eventKinds()
        XCTAssertTrue(kinds.contains("shell_started"))
    }

    /// The technician's main flow: `session new` waits for the yes, then is the shell.
    func testSessionNewOpensAShellAfterApprovalAndEndsTheSession() throws {
        let fx = try BrokerFixture(name: "session-new-shell")
        defer { fx.stopAll() }
        XCTAssertEqual(try fx.tandem(["ticket", "new", "Wi-Fi drops", "--requester", "ana"]).status, 0)
        let term = try PseudoTerminal(Harness.tool("tandem"), ["session", "new", "--ticket", "1", "--scope", "shell"] + fx.cliConfig, in: fx.dir)
        defer { term.stop() }
        let code = try XCTUnwrap(term.waitForMatch("[0-9]{3} [0-9]{3} [0-9]{3}"), term.text)
        let agent = try fx.agent(code: code, answer: "y")
        XCTAssertTrue(term.waitFor("The user approved"), term.text)
        XCTAssertNotNil(term.waitForMatch("[$#] "), term.text)
        term.type("exit 5\r")
        XCTAssertTrue(Harness.waitUntil(15) { !term.process.isRunning }, term.text)
        XCTAssertEqual(term.process.terminationStatus, 5)
        XCTAssertEqual(agent.wait(15), 0, "ending the shell from session new ends the session")
        XCTAssertTrue(try fx.eventKinds().contains("ended"))
    }
}
