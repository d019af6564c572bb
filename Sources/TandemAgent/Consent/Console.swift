import Foundation
import Glibc
import Synchronization
import TandemCore
import TandemText

/// What the end-user sees: plain lines, one status line redrawn in place on a terminal, and
/// while a shell runs (unless `--no-view`) that shell's screen above the status line.
enum Console {
    private struct State {
        /// The status line is on the cursor's line (no view): the next line clears it first.
        var statusShown = false
        /// While the view shows a shell: the terminal's rows, the last one kept for the status.
        var viewRows: Int?
        /// A question waits for the user's typing on the cursor's line: the status stays put.
        var asking = false
    }

    private static let lock = Mutex(State())
    static let isTerminal = isatty(2) == 1

    static func say(_ text: String) {
        lock.withLock { state in
            if state.statusShown { write("\r\u{1B}[K") }
            state.statusShown = false
            // Inside the view the shell may have left the cursor mid-line, and any colours on.
            write(state.viewRows == nil ? text + "\n" : "\r\n\u{1B}[0m" + text + "\r\n")
        }
    }

    /// A question, on a line of its own, the cursor left after it for the typed answer.
    static func ask(_ question: String) {
        lock.withLock { state in
            if state.statusShown { write("\r\u{1B}[K") }
            state.statusShown = false
            state.asking = true
            write(state.viewRows == nil ? "\n" + question : "\r\n\u{1B}[0m" + question)
        }
    }

    /// The answer to the question, in words; the status line comes back.
    static func answered(_ text: String, afterTyping: Bool) {
        lock.withLock { state in
            state.asking = false
            // Nothing typed (the time ran out): the cursor is still after the question.
            if !afterTyping { write(state.viewRows == nil ? "\n" : "\r\n") }
        }
        say(text)
    }

    /// Something the technician did, as it happens; one line, since it quotes their words.
    static func event(_ text: String) { say("▶ \(TerminalText.escape(text))") }

    static func status(_ text: String) {
        guard isTerminal else { return }
        lock.withLock { state in
            if state.asking && state.viewRows == nil { return }
            if let rows = state.viewRows {
                // Drawn on the last row, outside the scrolling region, and the cursor put back.
                // In plain colours whatever the shell left on; the cursor and its colours put back.
                write("\u{1B}7\u{1B}[\(rows);1H\u{1B}[0m\u{1B}[2K" + text + "\u{1B}8")
            } else {
                write("\r\u{1B}[K" + text)
                state.statusShown = true
            }
        }
    }

    /// The shell's screen begins: on a terminal, everything but the last row scrolls. Returns
    /// the terminal's rows.
    @discardableResult
    static func beginView() -> Int {
        lock.withLock { state in
            if state.statusShown { write("\r\u{1B}[K") }
            state.statusShown = false
            write("── The technician's shell, as they see it (read-only; your typing does not reach it) ──\n")
            var size = winsize()
            let rows = ioctl(2, UInt(TIOCGWINSZ), &size) == 0 && size.ws_row > 2 ? Int(size.ws_row) : 24
            guard isTerminal else { return rows }
            state.viewRows = rows
            write("\u{1B}[1;\(rows - 1)r\u{1B}[\(rows - 1);1H")
            return rows
        }
    }

    /// Text already filtered by `LiveView`: the shell's output, drawn as it comes.
    static func view(_ text: String) {
        guard !text.isEmpty else { return }
        lock.withLock { _ in write(text) }
    }

    /// The shell closed: the whole terminal scrolls again.
    static func endView() {
        lock.withLock { state in
            if let rows = state.viewRows {
                // Plain colours, the cursor shown, the whole screen scrolling again.
                write("\u{1B}[0m\u{1B}[?25h\u{1B}7\u{1B}[\(rows);1H\u{1B}[2K\u{1B}8\u{1B}[r\u{1B}[\(rows);1H")
            }
            state.viewRows = nil
            write("\r\n── The technician's shell closed ──\n")
        }
    }

    /// POSIX, not `FileHandle.write`, which aborts the process when the terminal is gone.
    private static func write(_ text: String) {
        var copy = text
        copy.withUTF8 { _ = writeAll(2, UnsafeRawBufferPointer($0)) }
    }
}
