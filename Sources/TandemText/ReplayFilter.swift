/// Replays a terminal recording without the sequences that act outside the screen.
///
/// A recording is foreign output: played raw, it could write the auditor's clipboard
/// (OSC 52), retitle their window, send device-control strings, or make their terminal
/// answer a query into the shell they return to. This filter drops every OSC, DCS, SOS,
/// PM and APC string (7-bit and 8-bit forms; CAN and SUB end one, as on a terminal), the
/// CSI sequences that report or act on the window (`c`, `n`, `t`, `i`, `x`, `$p`, `>q`,
/// `*y`), `ESC Z`, and any CSI too long to be real; everything that draws on the screen
/// passes unchanged. It keeps its state between calls, since a sequence may be split
/// across frames; use one filter per recording.
public struct ReplayFilter: Sendable {
    private enum State: Sendable {
        case ground
        case escape
        case csi([Unicode.Scalar])
        /// A CSI past `csiLimit`: dropped up to its final byte.
        case csiSkipping
        case string
        case stringEscape
    }

    private var state = State.ground
    /// Sequences dropped so far, so the player can say so.
    public private(set) var dropped = 0
    /// A CSI longer than this is not a real one: it is dropped.
    static let csiLimit = 64

    public init() {}

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
            case 0x90, 0x98, 0x9D, 0x9E, 0x9F: startString()
            case 0x9B: state = .csi(["\u{1B}", "["])
            case 0x9A: dropped += 1  // DECID, 8-bit: the terminal would answer it
            default: out.append(s)
            }
        case .escape:
            switch s {
            case "]", "P", "X", "^", "_": startString()
            case "[": state = .csi(["\u{1B}", "["])
            case "Z":
                state = .ground
                dropped += 1
            default:
                state = .ground
                out.append("\u{1B}")
                if s.value == 0x1B { state = .escape } else { out.append(s) }
            }
        case .csi(var buffer):
            if s.value == 0x18 || s.value == 0x1A {
                state = .ground
                return
            }
            // A terminal abandons an unfinished CSI at ESC or a C1 control and starts anew there:
            // kept, the ESC would pass inside "the CSI" and begin whatever follows (`\e[\e]52;…`).
            if s.value == 0x1B || (0x80...0x9F).contains(s.value) {
                dropped += 1
                state = .ground
                return step(s, into: &out)
            }
            buffer.append(s)
            if (0x40...0x7E).contains(s.value) {
                state = .ground
                if Self.answers(buffer) {
                    dropped += 1
                } else {
                    out.append(contentsOf: buffer)
                }
            } else if buffer.count > Self.csiLimit {
                state = .csiSkipping
                dropped += 1
            } else {
                state = .csi(buffer)
            }
        case .csiSkipping:
            if s.value == 0x1B || (0x80...0x9F).contains(s.value) {
                state = .ground
                return step(s, into: &out)
            }
            if (0x40...0x7E).contains(s.value) || s.value == 0x18 || s.value == 0x1A { state = .ground }
        case .string:
            switch s.value {
            case 0x07, 0x9C, 0x18, 0x1A: state = .ground
            case 0x1B: state = .stringEscape
            default: break
            }
        case .stringEscape:
            if s == "\\" {
                state = .ground
            } else {
                // ESC inside a string ends it and starts a new sequence, as terminals do.
                state = .escape
                step(s, into: &out)
            }
        }
    }

    /// A complete CSI that makes the terminal answer or act on its window.
    private static func answers(_ csi: [Unicode.Scalar]) -> Bool {
        guard let final = csi.last else { return false }
        let body = csi.dropFirst(2).dropLast()
        switch final {
        case "c", "n", "t", "i", "x": return true
        case "p": return body.contains("$")
        case "q": return body.contains(">")
        case "y": return body.contains("*")
        default: return false
        }
    }

    private mutating func startString() {
        dropped += 1
        state = .string
    }
}
