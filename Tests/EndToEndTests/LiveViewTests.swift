import Foundation
import XCTest

/// Issue 14, acceptance 1: through a pty on the agent's side, the technician's typing and the
/// command's output appear on the user's screen; typing there does not reach the shell; the
/// technician's output cannot act on the user's terminal; `--no-view` shows only notices.
final class LiveViewTests: XCTestCase {
    private func agentOnATerminal(_ fx: BrokerFixture, code: String, extra: [String] = []) throws -> PseudoTerminal {
        let agent = try PseudoTerminal(Harness.tool("tandem-agent"), [code, "--broker", "127.0.0.1:\(fx.port)", "--ca", "certs/ca.crt"] + extra,
                                       in: fx.dir, rows: 30, columns: 100)
        XCTAssertTrue(agent.waitFor("[y/N]"), agent.text)
        agent.type("y\r")
        return agent
    }

    func testTheUserSeesTheShellReadOnlyAndNoViewShowsNoticesOnly() throws {
        let fx = try BrokerFixture(name: "live-view")
        defer { fx.stopAll() }
        XCTAssertEqual(try fx.tandem(["ticket", "new", "Printer offline", "--requester", "jane"]).status, 0)
        let request = try fx.requestSession(ticket: 1)
        let agent = try agentOnATerminal(fx, code: request.code)
        defer { agent.stop() }
        XCTAssertEqual(request.child.wait(20), 0, request.child.stderr)

        let shell = try PseudoTerminal(Harness.tool("tandem"), ["shell", request.id] + fx.cliConfig, in: fx.dir, rows: 24, columns: 80)
        defer { shell.stop() }
        XCTAssertNotNil(shell.waitForMatch("[$#] "), shell.text)
        shell.type("echo view-$((6*7))\r")
        XCTAssertTrue(shell.waitFor("view-42"), shell.text)
        // The user's screen: what the technician typed (echoed by the shell) and its output.
        XCTAssertTrue(agent.waitFor("echo view-$((6*7))"), agent.text)
        XCTAssertTrue(agent.waitFor("view-42"), agent.text)
        XCTAssertTrue(agent.text.contains("The technician's shell, as they see it"), agent.text)
        // The status line: who, the ticket, time used and left, and the key that ends it, on the
        // terminal's last row (30), outside the scrolling region the shell draws in.
        XCTAssertTrue(agent.waitFor("\u{1B}[1;29r"), agent.text)
        XCTAssertNotNil(agent.waitForMatch("\u{1B}\\[30;1H\u{1B}\\[0m\u{1B}\\[2K● alice is connected · ticket #1 · 00:00:[0-9]{2} used, 00:59:[0-9]{2} left · Ctrl-C to end"),
                        agent.text)

        // Typing on the user's terminal goes nowhere near the shell.
        agent.type("echo injected-$((2*3))\r")
        shell.type("echo barrier-$((3*3))\r")
        XCTAssertTrue(shell.waitFor("barrier-9"), shell.text)
        XCTAssertFalse(shell.text.contains("injected-6"), shell.text)

        // Output that would act on the user's terminal (set its clipboard, retitle it, ask it to
        // answer) reaches the technician as it is, and the user's screen without it.
        shell.type("printf 'clip\\033]52;c;aGVsbG8=\\007\\033]0;owned\\007\\033[6nboard-%s\\n' ok\r")
        XCTAssertTrue(shell.waitFor("board-ok"), shell.text)
        XCTAssertTrue(agent.waitFor("clipboard-ok"), agent.text)
        XCTAssertTrue(shell.text.contains("\u{1B}]52;c;aGVsbG8="), "the technician's own terminal gets the raw output")
        XCTAssertFalse(agent.text.contains("\u{1B}]52"), agent.text)
        XCTAssertFalse(agent.text.contains("\u{1B}]0;owned"), agent.text)
        XCTAssertFalse(agent.text.contains("\u{1B}[6n"), agent.text)
        // Nor anything that changes how the user's terminal behaves: mouse reports, a keyboard
        // mode in which Ctrl-C stops interrupting, the alternate screen, a scroll region that
        // would cover the status line, a full reset; and a row below the shell's is clamped.
        shell.type("printf 'mode\\033[?1000h\\033[>4;2m\\033[?1049h\\033[1;30r\\033c\\033[30;1Hs-%s\\n' ok\r")
        XCTAssertTrue(shell.waitFor("s-ok"), shell.text)
        XCTAssertTrue(agent.waitFor("\u{1B}[29;1Hs-ok"), agent.text.suffix(600).debugDescription)
        for sequence in ["\u{1B}[?1000h", "\u{1B}[>4;2m", "\u{1B}[?1049h", "\u{1B}[1;30r", "\u{1B}c", "\u{1B}[30;1Hs-ok"] {
            XCTAssertFalse(agent.text.contains(sequence), sequence.debugDescription)
        }

        shell.type("exit\r")
        XCTAssertTrue(Harness.waitUntil(15) { !shell.process.isRunning })
        XCTAssertTrue(agent.waitFor("The technician's shell closed"), agent.text)

        // --no-view: the notice that a shell opened, and nothing of what is in it.
        let quiet = try fx.requestSession(ticket: 1)
        let quietAgent = try agentOnATerminal(fx, code: quiet.code, extra: ["--no-view"])
        defer { quietAgent.stop() }
        XCTAssertEqual(quiet.child.wait(20), 0, quiet.child.stderr)
        let quietShell = try PseudoTerminal(Harness.tool("tandem"), ["shell", quiet.id] + fx.cliConfig, in: fx.dir, rows: 24, columns: 80)
        defer { quietShell.stop() }
        XCTAssertNotNil(quietShell.waitForMatch("[$#] "), quietShell.text)
        quietShell.type("echo hidden-$((7*7))\r")
        XCTAssertTrue(quietShell.waitFor("hidden-49"), quietShell.text)
        XCTAssertEqual(try fx.tandem(["exec", quiet.id], after: ["--", "true"]).status, 0)
        XCTAssertTrue(quietAgent.waitFor("The technician ran: true"), quietAgent.text)
        XCTAssertTrue(quietAgent.text.contains("The technician opened a shell."), quietAgent.text)
        XCTAssertFalse(quietAgent.text.contains("hidden-49"), quietAgent.text)
        XCTAssertFalse(quietAgent.text.contains("as they see it"), quietAgent.text)
    }
}
