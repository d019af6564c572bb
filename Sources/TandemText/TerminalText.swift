/// The one way a string from another party reaches a person's terminal: every character
/// that could move the cursor, start an escape sequence or reorder text is shown as a
/// visible escape instead, so no field can change what the rest of the screen says.
///
/// Escapes are `\n`, `\r`, `\t`, `\xHH` (C0, DEL, C1) and `\u{HHHH}` (bidirectional and
/// line-separator controls). A backslash is left as it is, so escaping is idempotent: text
/// that was escaped once (by the broker) is unchanged when escaped again (by the CLI).
public enum TerminalText {
    /// Whether line breaks survive: never in a field shown on one line.
    public enum Layout: Sendable {
        case oneLine
        case multiLine
    }

    public static func escape(_ text: String, _ layout: Layout = .oneLine) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = String.UnicodeScalarView()
        out.reserveCapacity(text.unicodeScalars.count + 16)
        for scalar in text.unicodeScalars {
            if !isControl(scalar) || (layout == .multiLine && scalar == "\n") {
                out.append(scalar)
            } else {
                out.append(contentsOf: visible(scalar).unicodeScalars)
            }
        }
        return String(out)
    }

    /// A JSON text with every control character above ASCII's C0 range (DEL, C1, the bidi marks,
    /// line separators) written as a `\uXXXX` escape: the same JSON value, safe on a terminal.
    /// (C0 controls are always escaped in Tandem's JSON already.)
    public static func jsonForTerminal(_ json: String) -> String {
        guard json.unicodeScalars.contains(where: { $0.value >= 0x7F && isControl($0) }) else { return json }
        var out = ""
        for scalar in json.unicodeScalars {
            if scalar.value >= 0x7F && isControl(scalar) {
                out += "\\u" + hex(scalar.value, width: 4)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Runs of white space folded to one space, at most `limit` characters (the cut marked
    /// with `…`), then escaped as one line: a field that cannot pad itself onto a line of its own.
    public static func field(_ text: String, limit: Int = 200) -> String {
        var folded = ""
        var lastWasSpace = false
        for ch in text {
            let space = ch == " " || ch == "\u{A0}" || ch == "\u{3000}"
            if space && lastWasSpace { continue }
            folded.append(space ? " " : ch)
            lastWasSpace = space
        }
        let cut = folded.count > limit ? String(folded.prefix(limit)) + "…" : folded
        return escape(cut, .oneLine)
    }

    /// The first control character in `text`, for inputs that refuse them outright.
    public static func firstControl(in text: String) -> Unicode.Scalar? {
        text.unicodeScalars.first(where: isControl)
    }

    /// How `scalar` is named in an error message (`U+001B`).
    public static func name(_ scalar: Unicode.Scalar) -> String {
        "U+" + hex(scalar.value, width: 4)
    }

    /// C0 and C1 controls, DEL, the bidirectional marks, embeddings, overrides and isolates,
    /// and the Unicode line and paragraph separators.
    public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F: return true
        case 0x061C, 0x200E, 0x200F, 0x2028, 0x2029: return true
        case 0x202A...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }

    private static func visible(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\n": return "\\n"
        case "\r": return "\\r"
        case "\t": return "\\t"
        default:
            return scalar.value <= 0xFF ? "\\x" + hex(scalar.value, width: 2) : "\\u{" + hex(scalar.value, width: 4) + "}"
        }
    }

    private static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16, uppercase: false)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
