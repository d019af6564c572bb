import Foundation
import Glibc
import Synchronization
import TandemCore
import TandemText

/// What the end-user sees: plain lines, and one status line redrawn in place on a terminal.
enum Console {
    private static let lock = Mutex<Bool>(false)
    static let isTerminal = isatty(2) == 1

    static func say(_ text: String) {
        lock.withLock { statusShown in
            if statusShown { write("\r\u{1B}[K") }
            statusShown = false
            write(text + "\n")
        }
    }

    /// Something the technician did, as it happens; one line, since it quotes their words.
    static func event(_ text: String) { say("▶ \(TerminalText.escape(text))") }

    static func status(_ text: String) {
        guard isTerminal else { return }
        lock.withLock { statusShown in
            write("\r\u{1B}[K" + text)
            statusShown = true
        }
    }

    /// POSIX, not `FileHandle.write`, which aborts the process when the terminal is gone.
    private static func write(_ text: String) {
        var copy = text
        copy.withUTF8 { _ = writeAll(2, UnsafeRawBufferPointer($0)) }
    }
}
