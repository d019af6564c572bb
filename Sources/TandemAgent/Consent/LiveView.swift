import TandemText

/// The shell's screen on the end-user's terminal, read-only, as the technician sees it.
///
/// The bytes are the user's own machine's output, but the technician chooses what it prints:
/// everything passes `ReplayFilter` first, so nothing it prints can write the user's clipboard,
/// retitle their window or make their terminal answer a query into the agent's input.
/// Used from the agent's SSH thread only.
final class LiveView {
    private var filter = ReplayFilter()
    /// The start of a UTF-8 character split across two reads.
    private var carry: [UInt8] = []
    private var shells = 0

    /// A shell opened: its screen starts here (under the status line).
    func shellOpened() {
        shells += 1
        if shells == 1 { Console.beginView() }
    }

    func shellClosed() {
        shells = max(0, shells - 1)
        if shells == 0 {
            carry = []
            filter = ReplayFilter()
            Console.endView()
        }
    }

    func show(_ bytes: UnsafeRawBufferPointer) {
        var all = carry
        all.append(contentsOf: bytes)
        let whole = UTF8Boundary.completePrefix(all)
        carry = Array(all[whole...].prefix(8))
        let text = String(decoding: all[..<whole], as: UTF8.self)
        Console.view(filter.filter(text))
    }
}

@available(*, unavailable)
extension LiveView: Sendable {}
