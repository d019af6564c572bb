import CPTY
import Foundation
import Glibc
import TandemTestSupport
import XCTest

/// Runs a program on a real pseudo-terminal, as a person at a terminal would.
///
/// `setsid -c` makes the terminal the program's controlling terminal, so a
/// resize of the master reaches it as SIGWINCH.
final class PseudoTerminal {
    let master: Int32
    let process: SpawnedProcess
    private var screen = Data()

    init(_ executable: String, _ arguments: [String], in dir: URL, rows: UInt16 = 24, columns: UInt16 = 80) throws {
        var m: Int32 = -1, s: Int32 = -1
        guard tandem_open_pty(&m, &s) == 0 else { throw Failure("no pseudo-terminal available") }
        master = m
        var ws = winsize(ws_row: rows, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(master, UInt(TIOCSWINSZ), &ws)
        defer { close(s) }
        process = try SpawnedProcess("/usr/bin/setsid", ["-w", "-c", executable] + arguments, in: dir.path, stdin: s, stdout: s, stderr: s)
        _ = fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK)
    }

    func type(_ text: String) {
        _ = text.utf8CString.withUnsafeBufferPointer { write(master, $0.baseAddress, $0.count - 1) }
    }

    func resize(rows: UInt16, columns: UInt16) {
        var ws = winsize(ws_row: rows, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(master, UInt(TIOCSWINSZ), &ws)
    }

    /// Everything the program has shown so far.
    var text: String {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(master, &buffer, buffer.count)
            if n <= 0 { break }
            screen.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: screen, as: UTF8.self)
    }

    func waitFor(_ needle: String, seconds: Double = 15) -> Bool {
        Harness.waitUntil(seconds) { self.text.contains(needle) }
    }

    func waitForMatch(_ pattern: String, seconds: Double = 15) -> String? {
        var found: String?
        Harness.waitUntil(seconds) {
            let t = self.text
            if let r = t.range(of: pattern, options: .regularExpression) { found = String(t[r]) }
            return found != nil
        }
        return found
    }

    /// Kills the program too, not only `setsid`: when setsid forks, the program is its child,
    /// in a session of its own, and would outlive it.
    func stop() {
        if process.isRunning {
            let pid = process.processIdentifier
            let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
            for child in children.split(separator: " ").compactMap({ pid_t($0) }) { kill(child, SIGKILL) }
            kill(pid, SIGKILL)
            Harness.waitUntil(5) { !self.process.isRunning }
        }
        close(master)
    }
}
