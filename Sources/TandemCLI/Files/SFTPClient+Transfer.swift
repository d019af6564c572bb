import Foundation
import Glibc
import TandemCore

// MARK: - Pipelined transfers

extension SFTPClient {
    static let chunk = 128 * 1024
    static let inFlight = 16

    /// Copies a remote file to `name` in `dir`; the bytes land under a temporary name until complete.
    /// Permission bits come across, never set-uid, set-gid or sticky.
    func download(_ remote: String, into dir: LocalDirectory, as name: String, progress: Progress) throws {
        let local = dir.describe(name)
        let handle = try open(remote, .read)
        var size: UInt64?
        var mode: mode_t = 0o644
        if case .attrs(_, let a) = try call({ .fstat(id: $0, handle: handle) }) {
            size = a.size
            if let p = a.permissions { mode = mode_t(p & 0o777) | 0o600 }
        }
        progress.start(name: remote, total: size)
        let (fd, temporary) = try dir.createTemporary(for: name, mode: mode)
        var completed = false
        defer {
            Glibc.close(fd)
            if !completed { dir.remove(temporary) }
        }
        var offset: UInt64 = 0
        var outstanding: [(id: UInt32, offset: UInt64, length: UInt32)] = []
        var eof = false
        var received: UInt64 = 0
        while !eof || !outstanding.isEmpty {
            while !eof && outstanding.count < Self.inFlight {
                let at = offset
                let id = try request { .read(id: $0, handle: handle, offset: at, length: UInt32(Self.chunk)) }
                outstanding.append((id, at, UInt32(Self.chunk)))
                offset += UInt64(Self.chunk)
            }
            let next = outstanding.removeFirst()
            switch try wait(next.id) {
            case .data(_, let data):
                try writeFully(fd, data, at: next.offset, local)
                received += UInt64(data.count)
                if data.count < Int(next.length) {
                    // A short read inside the file: fetch the rest of this block now.
                    let rest = next.offset + UInt64(data.count)
                    if case .data(_, let more) = try call({ .read(id: $0, handle: handle, offset: rest, length: next.length - UInt32(data.count)) }) {
                        try writeFully(fd, more, at: rest, local)
                        received += UInt64(more.count)
                    }
                }
                progress.update(received)
            case .status(_, let code, _) where code == SFTP.Status.eof.rawValue:
                eof = true
            case let other:
                try check(other, remote)
            }
        }
        try closeHandle(handle, remote)
        guard fsync(fd) == 0 else { throw CLIError.local("cannot write \(local): \(String(cString: strerror(errno)))") }
        try dir.commit(temporary, as: name)
        completed = true
        progress.finish(received)
    }

    /// Copies `local` to a remote path; the agent writes it under a temporary name and renames at close.
    func upload(_ local: String, to remote: String, progress: Progress) throws {
        let fd = Glibc.open(local, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CLIError.remote("cannot read \(local): \(String(cString: strerror(errno)))") }
        defer { Glibc.close(fd) }
        var st = stat()
        _ = fstat(fd, &st)
        progress.start(name: local, total: UInt64(st.st_size))
        let handle = try open(remote, [.write, .create, .truncate], SFTPAttributes(permissions: UInt32(st.st_mode & 0o777)))
        var offset: UInt64 = 0
        var outstanding: [UInt32] = []
        var buffer = [UInt8](repeating: 0, count: Self.chunk)
        var failure: Error?
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; failure = CLIError.remote("cannot read \(local): \(String(cString: strerror(errno)))"); break }
            if n == 0 { break }
            let at = offset
            let data = Array(buffer[0..<n])
            outstanding.append(try request { .write(id: $0, handle: handle, offset: at, data: data) })
            offset += UInt64(n)
            if outstanding.count >= Self.inFlight {
                do { try check(try wait(outstanding.removeFirst()), remote) } catch { failure = error; break }
                let unconfirmed = UInt64(outstanding.count * Self.chunk)
                progress.update(offset > unconfirmed ? offset - unconfirmed : 0)
            }
        }
        for id in outstanding {
            do { try check(try wait(id), remote) } catch { failure = failure ?? error }
        }
        if let failure {
            // Closing lets the agent discard its temporary file.
            _ = try? call { .close(id: $0, handle: handle) }
            throw failure
        }
        try closeHandle(handle, remote)
        progress.finish(offset)
    }

    private func writeFully(_ fd: Int32, _ data: [UInt8], at offset: UInt64, _ local: String) throws {
        var done = 0
        while done < data.count {
            let w = data.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, data.count - done, off_t(offset) + off_t(done)) }
            if w < 0 {
                if errno == EINTR { continue }
                throw CLIError.local("cannot write \(local): \(String(cString: strerror(errno)))")
            }
            done += w
        }
    }
}
