import Glibc
import LibSSH

/// Puts the local terminal in raw mode for an interactive shell, and always puts it back.
final class TerminalMode {
    private var saved = termios()
    private var active = false

    static var isInteractive: Bool { isatty(0) == 1 && isatty(1) == 1 }

    static func currentSize() -> TerminalSize {
        var ws = winsize()
        if ioctl(1, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_col > 0, ws.ws_row > 0 {
            return TerminalSize(columns: Int(ws.ws_col), rows: Int(ws.ws_row))
        }
        return TerminalSize(columns: 80, rows: 24)
    }

    func enterRaw() {
        guard isatty(0) == 1, tcgetattr(0, &saved) == 0 else { return }
        var raw = saved
        cfmakeraw(&raw)
        tcsetattr(0, TCSAFLUSH, &raw)
        active = true
    }

    func restore() {
        guard active else { return }
        tcsetattr(0, TCSAFLUSH, &saved)
        active = false
    }

    deinit { restore() }
}
