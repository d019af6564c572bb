/// The one byte-exact JSON encoding the audit chain hashes (see docs/audit-format.md).
///
/// Keys are written in the order given (callers pass them sorted), strings escape only
/// `"`, `\` and control characters, numbers are decimal integers, absent values are `null`.
public enum CanonicalJSON {
    public enum Value {
        case string(String)
        case int(Int64)
        case null
        case object([(String, Value)])
    }

    public static func encode(_ value: Value) -> String {
        var out = ""
        write(value, into: &out)
        return out
    }

    private static func write(_ value: Value, into out: inout String) {
        switch value {
        case .string(let s): writeString(s, into: &out)
        case .int(let n): out += String(n)
        case .null: out += "null"
        case .object(let pairs):
            out += "{"
            for (i, (key, v)) in pairs.enumerated() {
                if i > 0 { out += "," }
                writeString(key, into: &out)
                out += ":"
                write(v, into: &out)
            }
            out += "}"
        }
    }

    private static func writeString(_ s: String, into out: inout String) {
        var bytes: [UInt8] = []
        JSONEscaping.appendQuoted(s.utf8, to: &bytes)
        out += String(decoding: bytes, as: UTF8.self)
    }
}
