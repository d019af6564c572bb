/// JSON string quoting shared by the audit chain and the recordings.
///
/// Escapes only `"`, `\` and control characters, byte by byte: UTF-8 bytes of
/// non-ASCII characters are all ≥ 0x80 and pass through unchanged.
public enum JSONEscaping {
    @usableFromInline static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends `utf8` as a quoted JSON string (valid UTF-8 in, valid JSON out).
    ///
    /// Inlinable, so callers in other modules get it specialised for their byte sequence: a
    /// recording of binary output escapes every byte here, and an unspecialised loop over a
    /// generic sequence held recorded commands to 15 MiB/s.
    @inlinable
    public static func appendQuoted<S: Sequence>(_ utf8: S, to out: inout [UInt8]) where S.Element == UInt8 {
        out.append(UInt8(ascii: "\""))
        for byte in utf8 {
            if byte >= 0x20 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") {
                out.append(byte)
                continue
            }
            out.append(UInt8(ascii: "\\"))
            switch byte {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "\n"): out.append(UInt8(ascii: "n"))
            case UInt8(ascii: "\r"): out.append(UInt8(ascii: "r"))
            case UInt8(ascii: "\t"): out.append(UInt8(ascii: "t"))
            default:
                out.append(UInt8(ascii: "u"))
                out.append(UInt8(ascii: "0"))
                out.append(UInt8(ascii: "0"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xf)])
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Appends raw bytes (output from another machine) as a quoted JSON string: valid UTF-8 is
    /// kept, and each invalid or cut-off sequence becomes one U+FFFD, as `String(decoding:as:)`
    /// repairs it (the maximal subpart of an ill-formed sequence), in one pass with no String in
    /// between: repairing binary output through String was most of a recorded command's cost.
    public static func appendQuotedRepairing(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        // Written through a pointer into room for the worst case (six bytes for a control byte),
        // then appended at once: per-byte appends to an array cost most of the time here.
        let n = bytes.count
        let quoted = [UInt8](unsafeUninitializedCapacity: n * 6 + 2) { room, written in
            var w = 0
            @inline(__always) func put(_ byte: UInt8) {
                room[w] = byte
                w += 1
            }
            @inline(__always) func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? 0x30 + v : 0x57 + v }
            put(UInt8(ascii: "\""))
            var i = 0
            while i < n {
                let b = bytes[i]
                if b < 0x80 {
                    if b >= 0x20 && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\") {
                        put(b)
                    } else {
                        put(UInt8(ascii: "\\"))
                        switch b {
                        case UInt8(ascii: "\""): put(UInt8(ascii: "\""))
                        case UInt8(ascii: "\\"): put(UInt8(ascii: "\\"))
                        case UInt8(ascii: "\n"): put(UInt8(ascii: "n"))
                        case UInt8(ascii: "\r"): put(UInt8(ascii: "r"))
                        case UInt8(ascii: "\t"): put(UInt8(ascii: "t"))
                        default:
                            put(UInt8(ascii: "u")); put(UInt8(ascii: "0")); put(UInt8(ascii: "0"))
                            put(hexDigit(b >> 4)); put(hexDigit(b & 0xf))
                        }
                    }
                    i += 1
                    continue
                }
                // The length a lead byte announces, and the range its first continuation must be in.
                let need: Int
                var low: UInt8 = 0x80
                var high: UInt8 = 0xBF
                switch b {
                case 0xC2...0xDF: need = 2
                case 0xE0: need = 3; low = 0xA0
                case 0xE1...0xEC, 0xEE...0xEF: need = 3
                case 0xED: need = 3; high = 0x9F
                case 0xF0: need = 4; low = 0x90
                case 0xF1...0xF3: need = 4
                case 0xF4: need = 4; high = 0x8F
                default: need = 0
                }
                var length = 1
                while length < need, i + length < n {
                    let c = bytes[i + length]
                    guard length == 1 ? (c >= low && c <= high) : (c >= 0x80 && c <= 0xBF) else { break }
                    length += 1
                }
                if need > 0 && length == need {
                    for k in 0..<need { put(bytes[i + k]) }
                } else {
                    // U+FFFD for the maximal ill-formed part, as String(decoding:as:) repairs it.
                    put(0xEF); put(0xBF); put(0xBD)
                }
                i += length
            }
            put(UInt8(ascii: "\""))
            written = w
        }
        out.append(contentsOf: quoted)
    }
}
