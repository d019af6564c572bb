import Foundation
import Glibc
import Synchronization
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

    private static func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
