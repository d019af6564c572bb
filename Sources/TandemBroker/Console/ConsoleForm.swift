import Foundation

/// A form body (`application/x-www-form-urlencoded`) as name → value, for the console's few
/// small forms: bounded in size and in fields, and refused whole when it does not parse.
enum ConsoleForm {
    static let maxBytes = 4096
    static let maxFields = 16

    enum Problem: Error, Equatable {
        case tooLarge
        case malformed
    }

    static func parse(_ bytes: [UInt8]) throws(Problem) -> [String: String] {
        guard bytes.count <= maxBytes else { throw .tooLarge }
        var fields: [String: String] = [:]
        let pairs = bytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true)
        guard pairs.count <= maxFields else { throw .malformed }
        for pair in pairs {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(parts[0]), let value = decode(parts.count > 1 ? parts[1] : []), !name.isEmpty else { throw .malformed }
            // A name given twice is ambiguous: refuse rather than pick one.
            guard fields[name] == nil else { throw .malformed }
            fields[name] = value
        }
        return fields
    }

    /// `+` is a space and `%XX` a byte; the bytes must be UTF-8.
    static func decode(_ bytes: some Collection<UInt8>) -> String? {
        var out: [UInt8] = []
        var i = bytes.startIndex
        while i != bytes.endIndex {
            let b = bytes[i]
            if b == UInt8(ascii: "%") {
                let h = bytes.index(after: i)
                guard h != bytes.endIndex, bytes.index(after: h) != bytes.endIndex,
                      let hi = hex(bytes[h]), let lo = hex(bytes[bytes.index(after: h)]) else { return nil }
                out.append(hi << 4 | lo)
                i = bytes.index(h, offsetBy: 2)
                continue
            }
            out.append(b == UInt8(ascii: "+") ? 0x20 : b)
            i = bytes.index(after: i)
        }
        return String(validating: out, as: UTF8.self)
    }

    private static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case 48...57: b - 48
        case 65...70: b - 55
        case 97...102: b - 87
        default: nil
        }
    }
}
