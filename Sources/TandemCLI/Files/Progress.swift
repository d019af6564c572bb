import Foundation
import Glibc
import TandemCore
import TandemText

/// A one-line progress bar (bytes, rate, ETA) on a terminal; silent when stderr is not one.
final class Progress {
    private let enabled: Bool
    private var name = ""
    private var total: UInt64?
    private var started = Date()
    private var lastDraw = Date.distantPast

    init(enabled: Bool = isatty(2) == 1) { self.enabled = enabled }

    func start(name: String, total: UInt64?) {
        self.name = TerminalText.field((name as NSString).lastPathComponent, limit: 30)
        self.total = total
        started = Date()
        lastDraw = .distantPast
        draw(0, force: true)
    }

    func update(_ done: UInt64) { draw(done, force: false) }

    func finish(_ done: UInt64) {
        draw(done, force: true)
        if enabled { writeText("\n", fd: 2) }
    }

    private func draw(_ done: UInt64, force: Bool) {
        guard enabled, force || Date().timeIntervalSince(lastDraw) >= 0.1 else { return }
        lastDraw = Date()
        let elapsed = max(0.001, Date().timeIntervalSince(started))
        let rate = Double(done) / elapsed
        var line = "\r\u{1B}[K\(name)  \(Self.bytes(done))"
        if let total, total > 0 {
            let fraction = min(1, Double(done) / Double(total))
            let width = 20
            let filled = Int(fraction * Double(width))
            line += " / \(Self.bytes(total)) [" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
            line += String(format: " %3.0f%%", fraction * 100)
            if rate > 0, done < total {
                let eta = Int(Double(total - done) / rate)
                line += String(format: "  ETA %d:%02d", eta / 60, eta % 60)
            }
        }
        line += "  \(Self.bytes(UInt64(rate)))/s"
        writeText(line, fd: 2)
    }

    static func bytes(_ n: UInt64) -> String { ByteCount.format(n, binary: true) }
}
