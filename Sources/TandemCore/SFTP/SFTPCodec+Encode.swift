// MARK: - Encoding

extension SFTPCodec {
    /// The whole packet, length prefix included.
    public static func encode(_ message: SFTPMessage) -> [UInt8] {
        var w = Writer()
        switch message {
        case .initialize(let v): w.byte(1); w.u32(v)
        case .version(let v, let ext):
            w.byte(2); w.u32(v)
            for (k, value) in ext.sorted(by: { $0.key < $1.key }) { w.string(k); w.string(value) }
        case .open(let id, let path, let flags, let a): w.byte(3); w.u32(id); w.string(path); w.u32(flags.rawValue); w.attributes(a)
        case .close(let id, let h): w.byte(4); w.u32(id); w.bytes(h)
        case .read(let id, let h, let off, let len): w.byte(5); w.u32(id); w.bytes(h); w.u64(off); w.u32(len)
        case .write(let id, let h, let off, let data): w.byte(6); w.u32(id); w.bytes(h); w.u64(off); w.bytes(data)
        case .lstat(let id, let p): w.byte(7); w.u32(id); w.string(p)
        case .fstat(let id, let h): w.byte(8); w.u32(id); w.bytes(h)
        case .setstat(let id, let p, let a): w.byte(9); w.u32(id); w.string(p); w.attributes(a)
        case .fsetstat(let id, let h, let a): w.byte(10); w.u32(id); w.bytes(h); w.attributes(a)
        case .opendir(let id, let p): w.byte(11); w.u32(id); w.string(p)
        case .readdir(let id, let h): w.byte(12); w.u32(id); w.bytes(h)
        case .remove(let id, let p): w.byte(13); w.u32(id); w.string(p)
        case .mkdir(let id, let p, let a): w.byte(14); w.u32(id); w.string(p); w.attributes(a)
        case .rmdir(let id, let p): w.byte(15); w.u32(id); w.string(p)
        case .realpath(let id, let p): w.byte(16); w.u32(id); w.string(p)
        case .stat(let id, let p): w.byte(17); w.u32(id); w.string(p)
        case .rename(let id, let from, let to): w.byte(18); w.u32(id); w.string(from); w.string(to)
        case .readlink(let id, let p): w.byte(19); w.u32(id); w.string(p)
        case .symlink(let id, let target, let link): w.byte(20); w.u32(id); w.string(target); w.string(link)
        case .extended(let id, let name, let payload): w.byte(200); w.u32(id); w.string(name); w.raw(payload)
        case .status(let id, let code, let msg): w.byte(101); w.u32(id); w.u32(code); w.string(msg); w.string("en")
        case .handle(let id, let h): w.byte(102); w.u32(id); w.bytes(h)
        case .data(let id, let d): w.byte(103); w.u32(id); w.bytes(d)
        case .name(let id, let names):
            w.byte(104); w.u32(id); w.u32(UInt32(names.count))
            for n in names { w.string(n.filename); w.string(n.longname); w.attributes(n.attributes) }
        case .attrs(let id, let a): w.byte(105); w.u32(id); w.attributes(a)
        case .unknown(let type, let id): w.byte(type); if let id { w.u32(id) }
        }
        let n = UInt32(w.out.count)
        return [UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)] + w.out
    }

    /// An extension's payload of SSH strings: the inverse of `strings(_:count:)`.
    public static func payload(strings: [String]) -> [UInt8] {
        var w = Writer()
        for s in strings { w.string(s) }
        return w.out
    }

    struct Writer {
        var out: [UInt8] = []
        mutating func byte(_ b: UInt8) { out.append(b) }
        mutating func u32(_ v: UInt32) { out += [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
        mutating func u64(_ v: UInt64) { u32(UInt32(v >> 32)); u32(UInt32(v & 0xffff_ffff)) }
        mutating func bytes(_ b: [UInt8]) { u32(UInt32(b.count)); out += b }
        mutating func raw(_ b: [UInt8]) { out += b }
        mutating func string(_ s: String) { bytes(Array(s.utf8)) }
        mutating func attributes(_ a: SFTPAttributes) {
            var flags: UInt32 = 0
            if a.size != nil { flags |= 0x1 }
            if a.uid != nil && a.gid != nil { flags |= 0x2 }
            if a.permissions != nil { flags |= 0x4 }
            if a.atime != nil && a.mtime != nil { flags |= 0x8 }
            u32(flags)
            if let s = a.size { u64(s) }
            if let uid = a.uid, let gid = a.gid { u32(uid); u32(gid) }
            if let p = a.permissions { u32(p) }
            if let at = a.atime, let mt = a.mtime { u32(at); u32(mt) }
        }
    }
}
