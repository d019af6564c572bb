import TandemText

/// The technician's shells on the end-user's terminal, read-only, as the technician sees them.
///
/// Counts the shells open, so the view begins with the first and ends with the last. Each shell
/// draws through its own `ShellScreen`. Used from the agent's SSH thread only.
final class LiveView {
    private var shells = 0
    private var rows = 24

    /// A shell opened: the view begins if it is the first; the shell gets its own filters.
    func shellOpened() -> ShellScreen {
        shells += 1
        if shells == 1 { rows = Console.beginView() }
        return ShellScreen(rows: rows - 1)
    }

    func shellClosed() {
        shells = max(0, shells - 1)
        if shells == 0 { Console.endView() }
    }
}

@available(*, unavailable)
extension LiveView: Sendable {}

/// One shell's output on the user's screen. The bytes are the user's own machine's, but the
/// technician chooses what it prints: `ReplayFilter` drops what acts outside the screen, then
/// `ScreenOnlyFilter` keeps only drawing, so nothing can write the user's clipboard, change how
/// their terminal behaves (mouse reports, keyboard modes that stop Ctrl-C) or draw over the
/// status line.
struct ShellScreen {
    private var replay = ReplayFilter()
    private var screen: ScreenOnlyFilter
    /// The start of a UTF-8 character split across two reads.
    private var carry: [UInt8] = []

    init(rows: Int) { screen = ScreenOnlyFilter(rows: rows) }

    mutating func show(_ bytes: UnsafeRawBufferPointer) {
        var all = carry
        all.append(contentsOf: bytes)
        let whole = UTF8Boundary.completePrefix(all)
        carry = Array(all[whole...].prefix(8))
        let text = String(decoding: all[..<whole], as: UTF8.self)
        Console.view(screen.filter(replay.filter(text)))
    }
}
