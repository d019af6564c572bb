import Glibc
import LibSSH

/// Puts the local terminal in raw mode for an interactive shell, and always puts it back.
final class TerminalMode {
    private var saved = termios()
    private var active = false
    private var outputOnly = false

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

    /// Recorded output already carries `\r\n`: stop the terminal from adding its own `\r`.
    /// Input stays cooked, so Ctrl-C still stops a replay.
    func passOutputThrough() {
        guard isatty(1) == 1, tcgetattr(1, &saved) == 0 else { return }
        var raw = saved
        raw.c_oflag &= ~tcflag_t(OPOST)
        tcsetattr(1, TCSADRAIN, &raw)
        outputOnly = true
        active = true
    }

    func restore() {
        guard active else { return }
        tcsetattr(outputOnly ? 1 : 0, outputOnly ? TCSADRAIN : TCSAFLUSH, &saved)
        active = false
    }

    deinit { restore() }
}
