/// What of a shell's output may be drawn on the end-user's own terminal, live: text, colours,
/// cursor moves and erasing, and nothing that changes how the terminal behaves.
///
/// Runs after `ReplayFilter` (which already drops strings, reports and window operations). A
/// replay is watched in a player; the live view writes to the terminal the user goes on using,
/// so here the rule is an allow-list: printable text, CR, LF, BS and TAB; SGR without a prefix
/// (not `\e[>4;2m`, which would make Ctrl-C stop interrupting); cursor movement, erase,
/// insert and delete; `ESC D`, `ESC E`, `ESC M`; and only `?25` (cursor shown) and `?7` (wrap)
/// of the private modes. Everything else is dropped: mouse and focus reporting, the alternate
/// screen, keyboard protocols, bracketed paste, scroll regions, character sets, full reset.
/// Absolute row positions are kept above `rows`, the last row being the status line's.
public struct ScreenOnlyFilter: Sendable {
    private enum State: Sendable {
        case ground
        case escape
        /// `ESC ( 0`, `ESC # 8` and the like: dropped through their final byte.
        case escapeIntermediate
        case csi([Unicode.Scalar])
    }

    private var state = State.ground
    /// The rows the shell may draw on (the terminal's, less the status line).
    public let rows: Int

    public init(rows: Int) { self.rows = max(1, rows) }

    public mutating func filter(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars { step(scalar, into: &out) }
        return String(out)
    }

    private mutating func step(_ s: Unicode.Scalar, into out: inout String.UnicodeScalarView) {
        switch state {
        case .ground:
            switch s.value {
            case 0x1B: state = .escape
            case 0x9B: state = .csi([])
            case 0x09, 0x0A, 0x0D, 0x08: out.append(s)
            case 0..<0x20, 0x7F, 0x80...0x9F: break
            default: out.append(s)
            }
        case .escape:
            state = .ground
            switch s {
            case "[": state = .csi([])
            case "D", "E", "M": out.append(contentsOf: ["\u{1B}", s])
            case "\u{1B}": state = .escape
            default: if (0x20...0x2F).contains(s.value) { state = .escapeIntermediate }
            }
        case .escapeIntermediate:
            if s.value == 0x1B { state = .escape } else if !(0x20...0x2F).contains(s.value) { state = .ground }
        case .csi(var body):
            if (0x40...0x7E).contains(s.value) {
                state = .ground
                if let kept = Self.allowed(body, final: s, rows: rows) { out.append(contentsOf: kept.unicodeScalars) }
            } else if s.value == 0x1B {
                state = .escape
            } else if (0x20...0x3F).contains(s.value), body.count < 32 {
                body.append(s)
                state = .csi(body)
            } else {
                state = .ground
            }
        }
    }

    /// The CSI to draw for `body` and `final`, or nil to drop it.
    static func allowed(_ body: [Unicode.Scalar], final: Unicode.Scalar, rows: Int) -> String? {
        let text = String(String.UnicodeScalarView(body))
        if final == "h" || final == "l" {
            return ["?25", "?7"].contains(text) ? "\u{1B}[\(text)\(final)" : nil
        }
        // Parameters only: no private prefix ('?', '>', '<', '=') and no intermediate bytes.
        guard body.allSatisfy({ ("0"..."9").contains($0) || $0 == ";" || $0 == ":" }) else { return nil }
        switch final {
        case "m", "A", "B", "C", "D", "E", "F", "G", "J", "K", "@", "P", "X", "L", "M", "S", "T", "`", "a", "e":
            return "\u{1B}[\(text)\(final)"
        case "H", "f":
            var parts = text.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
            let row = Int(parts.first ?? "") ?? 1
            if parts.isEmpty { parts = [""] }
            parts[0] = String(min(max(row, 1), rows))
            return "\u{1B}[\(parts.joined(separator: ";"))\(final)"
        case "d":
            return "\u{1B}[\(min(max(Int(text) ?? 1, 1), rows))d"
        default:
            return nil
        }
    }
}
