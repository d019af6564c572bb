import CPTY
import Foundation
import Glibc
import TandemCore

// MARK: - Requests

extension SFTPServer {
    func handle(_ message: SFTPMessage) {
        switch message {
        case .initialize:
            send(.version(SFTP.version, extensions: ["posix-rename@openssh.com": "1"]))
        case .open(let id, let path, let flags, let attrs): open(id, resolve(path), flags, attrs)
        case .close(let id, let h): close(id, h)
        case .read(let id, let h, let offset, let length): read(id, h, offset, length)
        case .write(let id, let h, let offset, let data): write(id, h, offset, data)
        case .stat(let id, let path): statReply(id, resolve(path), follow: true)
        case .lstat(let id, let path): statReply(id, resolve(path), follow: false)
        case .fstat(let id, let h):
            guard let n = handleNumber(h), let f = files[n] else { return status(id, .failure, "invalid handle") }
            var st = stat()
            guard Glibc.fstat(f.fd, &st) == 0 else { return errnoStatus(id, f.path) }
            send(.attrs(id: id, attributes: Self.attributes(st)))
        case .setstat(let id, let path, let attrs): setstat(id, resolve(path), attrs)
        case .fsetstat(let id, let h, let attrs):
            guard let n = handleNumber(h), let f = files[n] else { return status(id, .failure, "invalid handle") }
            setstat(id, f.temporary ?? f.path, attrs)
        case .opendir(let id, let path): opendir(id, resolve(path))
        case .readdir(let id, let h): readdir(id, h)
        case .remove(let id, let path):
            let p = resolve(path)
            if unlink(p) == 0 { report("The technician deleted \(display(p))."); status(id, .ok) } else { errnoStatus(id, p) }
        case .mkdir(let id, let path, let attrs):
            let p = resolve(path)
            if Glibc.mkdir(p, mode_t(attrs.permissions.map { $0 & 0o7777 } ?? 0o755)) == 0 {
                report("The technician created the folder \(display(p)).")
                status(id, .ok)
            } else {
                errnoStatus(id, p)
            }
        case .rmdir(let id, let path):
            let p = resolve(path)
            if Glibc.rmdir(p) == 0 { report("The technician removed the folder \(display(p))."); status(id, .ok) } else { errnoStatus(id, p) }
        case .realpath(let id, let path):
            let p = resolve(path)
            guard let real = Glibc.realpath(p, nil) else { return errnoStatus(id, p) }
            defer { free(real) }
            let s = String(cString: real)
            send(.name(id: id, names: [SFTPName(filename: s, longname: s, attributes: SFTPAttributes())]))
        case .rename(let id, let from, let to):
            // SFTP v3 rename must not replace an existing file.
            let (a, b) = (resolve(from), resolve(to))
            if access(b, F_OK) == 0 { return status(id, .failure, "\(to): already exists") }
            if Glibc.rename(a, b) == 0 { report("The technician renamed \(display(a)) to \(display(b))."); status(id, .ok) } else { errnoStatus(id, a) }
        case .readlink(let id, let path):
            let p = resolve(path)
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = Glibc.readlink(p, &buffer, buffer.count - 1)
            guard n >= 0 else { return errnoStatus(id, p) }
            let target = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            send(.name(id: id, names: [SFTPName(filename: target, longname: target, attributes: SFTPAttributes())]))
        case .symlink(let id, let target, let link):
            let l = resolve(link)
            if Glibc.symlink(target, l) == 0 { status(id, .ok) } else { errnoStatus(id, l) }
        case .extended(let id, let name, let payload):
            guard name == "posix-rename@openssh.com" else { return status(id, .unsupported, "\(name) is not supported") }
            guard let names = SFTPCodec.strings(payload, count: 2) else { return status(id, .badMessage) }
            let (from, to) = (names[0], names[1])
            if Glibc.rename(resolve(from), resolve(to)) == 0 { status(id, .ok) } else { errnoStatus(id, resolve(from)) }
        case .unknown(_, let id):
            status(id ?? 0, .unsupported, "unknown request type")
        case .version, .status, .handle, .data, .name, .attrs:
            if let id = message.id { status(id, .badMessage, "a reply is not a request") }
        }
    }

    private func open(_ id: UInt32, _ path: String, _ flags: SFTP.OpenFlags, _ attrs: SFTPAttributes) {
        var oflags: Int32 = O_CLOEXEC
        switch (flags.contains(.read), flags.contains(.write)) {
        case (true, true): oflags |= O_RDWR
        case (false, true): oflags |= O_WRONLY
        default: oflags |= O_RDONLY
        }
        if flags.contains(.append) { oflags |= O_APPEND }
        if flags.contains(.create) { oflags |= O_CREAT }
        if flags.contains(.truncate) { oflags |= O_TRUNC }
        if flags.contains(.exclusive) { oflags |= O_EXCL }
        let mode = mode_t(attrs.permissions.map { $0 & 0o7777 } ?? 0o644)
        // A whole-file replacement of a regular file (or a new file) goes to a temporary name first.
        var st = stat()
        let exists = tandem_stat(path, &st) == 0
        let replace = flags.contains(.write) && flags.contains(.create) && flags.contains(.truncate) && !flags.contains(.append)
            && (!exists || (st.st_mode & S_IFMT) == S_IFREG)
        var temporary: String?
        let fd: Int32
        if replace {
            let dir = (path as NSString).deletingLastPathComponent
            let name = (path as NSString).lastPathComponent
            let tmp = (dir.isEmpty ? "." : dir) + "/.\(name).tandem-part-\(getpid())-\(nextHandle)"
            fd = Glibc.open(tmp, (oflags & ~O_EXCL) | O_CREAT | O_EXCL, exists ? st.st_mode & 0o7777 : mode)
            temporary = tmp
        } else {
            fd = Glibc.open(path, oflags, mode)
        }
        guard fd >= 0 else { return errnoStatus(id, path) }
        let (n, handle) = newHandle()
        files[n] = OpenFile(fd: fd, path: path, temporary: temporary, writing: flags.contains(.write))
        send(.handle(id: id, handle: handle))
    }

    private func close(_ id: UInt32, _ h: [UInt8]) {
        guard let n = handleNumber(h) else { return status(id, .failure, "invalid handle") }
        if dirs.removeValue(forKey: n) != nil { return status(id, .ok) }
        guard let f = files.removeValue(forKey: n) else { return status(id, .failure, "invalid handle") }
        let closed = Glibc.close(f.fd)
        if let tmp = f.temporary {
            guard closed == 0, Glibc.rename(tmp, f.path) == 0 else {
                let err = errno
                unlink(tmp)
                return errnoStatus(id, f.path, err)
            }
        }
        if f.bytes > 0 || f.writing {
            let verb = f.writing ? "uploaded" : "downloaded"
            report("The technician \(verb) \(display(f.path)), \(Self.size(f.bytes)).")
        }
        status(id, .ok)
    }

    private func read(_ id: UInt32, _ h: [UInt8], _ offset: UInt64, _ length: UInt32) {
        guard let n = handleNumber(h), let f = files[n] else { return status(id, .failure, "invalid handle") }
        var buffer = [UInt8](repeating: 0, count: Int(min(length, 256 * 1024)))
        let got = buffer.withUnsafeMutableBytes { pread(f.fd, $0.baseAddress, $0.count, off_t(offset)) }
        if got < 0 { return errnoStatus(id, f.path) }
        if got == 0 { return status(id, .eof) }
        f.bytes += UInt64(got)
        buffer.removeLast(buffer.count - got)  // shortens in place: no second copy of the block
        send(.data(id: id, data: buffer))
    }

    private func write(_ id: UInt32, _ h: [UInt8], _ offset: UInt64, _ data: [UInt8]) {
        guard let n = handleNumber(h), let f = files[n] else { return status(id, .failure, "invalid handle") }
        var done = 0
        while done < data.count {
            let w = data.withUnsafeBytes { pwrite(f.fd, $0.baseAddress! + done, data.count - done, off_t(offset) + off_t(done)) }
            if w < 0 {
                if errno == EINTR { continue }
                return errnoStatus(id, f.path)
            }
            done += w
        }
        f.bytes += UInt64(done)
        status(id, .ok)
    }

    private func statReply(_ id: UInt32, _ path: String, follow: Bool) {
        var st = stat()
        guard (follow ? tandem_stat(path, &st) : Glibc.lstat(path, &st)) == 0 else { return errnoStatus(id, path) }
        send(.attrs(id: id, attributes: Self.attributes(st)))
    }

    private func setstat(_ id: UInt32, _ path: String, _ a: SFTPAttributes) {
        if let size = a.size, truncate(path, off_t(size)) != 0 { return errnoStatus(id, path) }
        if let p = a.permissions, chmod(path, mode_t(p & 0o7777)) != 0 { return errnoStatus(id, path) }
        if let at = a.atime, let mt = a.mtime {
            var times = [timeval(tv_sec: Int(at), tv_usec: 0), timeval(tv_sec: Int(mt), tv_usec: 0)]
            if utimes(path, &times) != 0 { return errnoStatus(id, path) }
        }
        status(id, .ok)
    }

    private func opendir(_ id: UInt32, _ path: String) {
        guard let d = Glibc.opendir(path) else { return errnoStatus(id, path) }
        var names: [String] = []
        while let entry = Glibc.readdir(d) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) } }
            // Not listed: clients that copy trees would have to tell them from hostile names.
            if name == "." || name == ".." { continue }
            names.append(name)
        }
        closedir(d)
        let (n, handle) = newHandle()
        dirs[n] = DirectoryListing(path: path, entries: names.sorted())
        send(.handle(id: id, handle: handle))
    }

    private func readdir(_ id: UInt32, _ h: [UInt8]) {
        guard let n = handleNumber(h), var listing = dirs[n] else { return status(id, .failure, "invalid handle") }
        guard !listing.entries.isEmpty else { return status(id, .eof) }
        let batch = listing.entries.prefix(100)
        listing.entries.removeFirst(batch.count)
        dirs[n] = listing
        let names = batch.map { name -> SFTPName in
            var st = stat()
            let attrs = Glibc.lstat(listing.path + "/" + name, &st) == 0 ? Self.attributes(st) : SFTPAttributes()
            let shown = HostileNamesForTests.listed(name)
            return SFTPName(filename: shown, longname: Self.longname(shown, attrs), attributes: attrs)
        }
        send(.name(id: id, names: names))
    }

    static func attributes(_ st: stat) -> SFTPAttributes {
        SFTPAttributes(size: UInt64(st.st_size), uid: st.st_uid, gid: st.st_gid, permissions: st.st_mode,
                       atime: UInt32(truncatingIfNeeded: st.st_atim.tv_sec), mtime: UInt32(truncatingIfNeeded: st.st_mtim.tv_sec))
    }

    /// `ls -l`-style line, as OpenSSH's server sends.
    static func longname(_ name: String, _ a: SFTPAttributes) -> String {
        let mode = a.permissions ?? 0
        let kind: Character = a.isDirectory ? "d" : a.isSymlink ? "l" : "-"
        let bits = "rwxrwxrwx"
        var perms = String(kind)
        for (i, c) in bits.enumerated() { perms.append(mode & (0o400 >> UInt32(i)) != 0 ? c : "-") }
        return "\(perms) 1 \(a.uid ?? 0) \(a.gid ?? 0) \(String(a.size ?? 0).leftPad(10)) \(name)"
    }

    static func size(_ bytes: UInt64) -> String { ByteCount.format(bytes, binary: false) }

    func display(_ path: String) -> String {
        path.hasPrefix(home + "/") ? "~/" + path.dropFirst(home.count + 1) : path
    }
}

private extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
