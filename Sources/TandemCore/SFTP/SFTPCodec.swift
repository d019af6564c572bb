/// Reads and writes SFTP packets (`uint32 length, byte type, payload`).
public enum SFTPCodec {
    public enum DecodeError: Error, Equatable, CustomStringConvertible {
        case oversized(Int)
        case truncated(String)
        case empty

        public var description: String {
            switch self {
            case .oversized(let n): return "SFTP packet of \(n) bytes exceeds the \(SFTP.maxPacket)-byte limit"
            case .truncated(let what): return "SFTP packet ends inside its \(what)"
            case .empty: return "empty SFTP packet"
            }
        }
    }

    /// Splits a byte stream into packets; throws at the first oversized length.
    public struct Framer: Sendable {
        private var buffer: [UInt8] = []
        private var start = 0
        public init() {}

        public mutating func append(_ bytes: UnsafeRawBufferPointer) { buffer.append(contentsOf: bytes) }
        public mutating func append(_ bytes: [UInt8]) { buffer.append(contentsOf: bytes) }

        /// The next whole packet's body (type byte onwards), or nil until more bytes arrive.
        public mutating func next() throws(DecodeError) -> ArraySlice<UInt8>? {
            guard buffer.count - start >= 4 else { compact(); return nil }
            let n = Int(buffer[start]) << 24 | Int(buffer[start + 1]) << 16 | Int(buffer[start + 2]) << 8 | Int(buffer[start + 3])
            guard n <= SFTP.maxPacket else { throw .oversized(n) }
            guard n > 0 else { throw .empty }
            guard buffer.count - start >= 4 + n else { compact(); return nil }
            let body = buffer[(start + 4)..<(start + 4 + n)]
            start += 4 + n
            return body
        }

        /// Bytes of a packet begun but not finished.
        public var pending: Int { buffer.count - start }

        private mutating func compact() {
            if start > 0 {
                buffer.removeFirst(start)
                start = 0
            }
        }
    }

    // MARK: decoding

    public static func decode(_ body: ArraySlice<UInt8>) throws(DecodeError) -> SFTPMessage {
        var r = Reader(bytes: body)
        let type = try r.byte("type")
        if type == 1 { return .initialize(version: try r.u32("version")) }
        if type == 2 {
            let v = try r.u32("version")
            var ext: [String: String] = [:]
            while !r.atEnd { ext[try r.string("extension name")] = try r.string("extension data") }
            return .version(v, extensions: ext)
        }
        guard let id = try? r.u32("id") else { return .unknown(type: type, id: nil) }
        switch type {
        case 3: return .open(id: id, path: try r.string("path"), flags: SFTP.OpenFlags(rawValue: try r.u32("flags")), attributes: try r.attributes())
        case 4: return .close(id: id, handle: try r.bytes("handle"))
        case 5: return .read(id: id, handle: try r.bytes("handle"), offset: try r.u64("offset"), length: try r.u32("length"))
        case 6: return .write(id: id, handle: try r.bytes("handle"), offset: try r.u64("offset"), data: try r.bytes("data"))
        case 7: return .lstat(id: id, path: try r.string("path"))
        case 8: return .fstat(id: id, handle: try r.bytes("handle"))
        case 9: return .setstat(id: id, path: try r.string("path"), attributes: try r.attributes())
        case 10: return .fsetstat(id: id, handle: try r.bytes("handle"), attributes: try r.attributes())
        case 11: return .opendir(id: id, path: try r.string("path"))
        case 12: return .readdir(id: id, handle: try r.bytes("handle"))
        case 13: return .remove(id: id, path: try r.string("path"))
        case 14: return .mkdir(id: id, path: try r.string("path"), attributes: try r.attributes())
        case 15: return .rmdir(id: id, path: try r.string("path"))
        case 16: return .realpath(id: id, path: try r.string("path"))
        case 17: return .stat(id: id, path: try r.string("path"))
        case 18: return .rename(id: id, from: try r.string("old path"), to: try r.string("new path"))
        case 19: return .readlink(id: id, path: try r.string("path"))
        case 20: return .symlink(id: id, target: try r.string("target"), link: try r.string("link path"))
        case 200: return .extended(id: id, name: try r.string("extension"), payload: Array(r.rest))
        case 101: return .status(id: id, code: try r.u32("status"), message: (try? r.string("message")) ?? "")
        case 102: return .handle(id: id, handle: try r.bytes("handle"))
        case 103: return .data(id: id, data: try r.bytes("data"))
        case 104:
            let count = try r.u32("count")
            guard count <= 100_000 else { throw .truncated("name count") }
            var names: [SFTPName] = []
            for _ in 0..<count {
                names.append(SFTPName(filename: try r.string("filename"), longname: try r.string("longname"), attributes: try r.attributes()))
            }
            return .name(id: id, names: names)
        case 105: return .attrs(id: id, attributes: try r.attributes())
        default: return .unknown(type: type, id: id)
        }
    }

    /// The first `count` SFTP strings of an extension payload, or nil if it is shorter.
    public static func strings(_ payload: [UInt8], count: Int) -> [String]? {
        var r = Reader(bytes: payload[...])
        var out: [String] = []
        for _ in 0..<count {
            guard let s = try? r.string("string") else { return nil }
            out.append(s)
        }
        return out
    }

    struct Reader {
        var bytes: ArraySlice<UInt8>
        var atEnd: Bool { bytes.isEmpty }
        var rest: ArraySlice<UInt8> { bytes }

        mutating func byte(_ what: String) throws(DecodeError) -> UInt8 {
            guard let b = bytes.first else { throw .truncated(what) }
            bytes = bytes.dropFirst()
            return b
        }
        mutating func u32(_ what: String) throws(DecodeError) -> UInt32 {
            guard bytes.count >= 4 else { throw .truncated(what) }
            let i = bytes.startIndex
            let v = UInt32(bytes[i]) << 24 | UInt32(bytes[i + 1]) << 16 | UInt32(bytes[i + 2]) << 8 | UInt32(bytes[i + 3])
            bytes = bytes.dropFirst(4)
            return v
        }
        mutating func u64(_ what: String) throws(DecodeError) -> UInt64 {
            UInt64(try u32(what)) << 32 | UInt64(try u32(what))
        }
        mutating func bytes(_ what: String) throws(DecodeError) -> [UInt8] {
            let n = Int(try u32(what))
            guard bytes.count >= n else { throw .truncated(what) }
            let out = Array(bytes.prefix(n))
            bytes = bytes.dropFirst(n)
            return out
        }
        /// A view of an SFTP string's bytes, without copying them.
        mutating func slice(_ what: String) throws(DecodeError) -> ArraySlice<UInt8> {
            let n = Int(try u32(what))
            guard bytes.count >= n else { throw .truncated(what) }
            let out = bytes.prefix(n)
            bytes = bytes.dropFirst(n)
            return out
        }
        mutating func string(_ what: String) throws(DecodeError) -> String {
            String(decoding: try self.bytes(what), as: UTF8.self)
        }
        mutating func attributes() throws(DecodeError) -> SFTPAttributes {
            let flags = try u32("attribute flags")
            var a = SFTPAttributes()
            if flags & 0x1 != 0 { a.size = try u64("size") }
            if flags & 0x2 != 0 { a.uid = try u32("uid"); a.gid = try u32("gid") }
            if flags & 0x4 != 0 { a.permissions = try u32("permissions") }
            if flags & 0x8 != 0 { a.atime = try u32("atime"); a.mtime = try u32("mtime") }
            if flags & 0x8000_0000 != 0 {
                let n = try u32("extended count")
                guard n <= 1000 else { throw .truncated("extended attributes") }
                for _ in 0..<n { _ = try bytes("extended name"); _ = try bytes("extended data") }
            }
            return a
        }
    }
}
