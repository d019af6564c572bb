import Foundation

/// The few parts of POSIX ustar needed for an audit bundle: regular files, read and written.
public enum TarArchive {
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var data: Data
        public init(name: String, data: Data) {
            self.name = name
            self.data = data
        }
    }

    public enum TarError: Error, CustomStringConvertible {
        case malformed(String)
        public var description: String {
            if case .malformed(let why) = self { return "not a valid bundle: \(why)" }
            return "not a valid bundle"
        }
    }

    public static func write(_ entries: [Entry], modificationTime: Int = 0) -> Data {
        var out = Data()
        for entry in entries {
            var header = [UInt8](repeating: 0, count: 512)
            func put(_ text: String, at offset: Int, length: Int) {
                for (i, b) in text.utf8.prefix(length).enumerated() { header[offset + i] = b }
            }
            func octal(_ value: Int, length: Int) -> String {
                let digits = String(value, radix: 8)
                return String(repeating: "0", count: max(0, length - 1 - digits.count)) + digits
            }
            put(entry.name, at: 0, length: 100)
            put(octal(0o644, length: 8), at: 100, length: 7)
            put(octal(0, length: 8), at: 108, length: 7)
            put(octal(0, length: 8), at: 116, length: 7)
            put(octal(entry.data.count, length: 12), at: 124, length: 11)
            put(octal(modificationTime, length: 12), at: 136, length: 11)
            put("        ", at: 148, length: 8)
            header[156] = UInt8(ascii: "0")
            put("ustar", at: 257, length: 6)
            put("00", at: 263, length: 2)
            let sum = header.reduce(0) { $0 + Int($1) }
            put(octal(sum, length: 7) + "\0", at: 148, length: 8)
            out.append(contentsOf: header)
            out.append(entry.data)
            let pad = (512 - entry.data.count % 512) % 512
            out.append(Data(count: pad))
        }
        out.append(Data(count: 1024))
        return out
    }

    public static func read(_ archive: Data) throws -> [Entry] {
        var entries: [Entry] = []
        var offset = 0
        let bytes = [UInt8](archive)
        while offset + 512 <= bytes.count {
            let header = Array(bytes[offset..<offset + 512])
            if header.allSatisfy({ $0 == 0 }) { break }
            func field(_ start: Int, _ length: Int) -> String {
                let slice = header[start..<start + length].prefix { $0 != 0 }
                return String(decoding: slice, as: UTF8.self).trimmingCharacters(in: .whitespaces)
            }
            guard let size = Int(field(124, 12), radix: 8), size >= 0 else { throw TarError.malformed("bad size at offset \(offset)") }
            let stored = Int(field(148, 8), radix: 8)
            var check = header
            for i in 148..<156 { check[i] = UInt8(ascii: " ") }
            guard stored == check.reduce(0, { $0 + Int($1) }) else { throw TarError.malformed("bad header checksum at offset \(offset)") }
            let name = field(0, 100)
            let start = offset + 512
            guard start + size <= bytes.count else { throw TarError.malformed("\(name) is truncated") }
            let type = header[156]
            if type == UInt8(ascii: "0") || type == 0 {
                entries.append(Entry(name: name, data: Data(bytes[start..<start + size])))
            }
            offset = start + size + (512 - size % 512) % 512
        }
        return entries
    }
}
