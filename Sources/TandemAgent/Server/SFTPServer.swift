import Foundation
import Glibc
import TandemCore

/// The agent's SFTP v3 server for one channel, running as the end-user in their home.
///
/// libssh 0.10.6's server SFTP API reads the channel with blocking calls, which would
/// stall the event loop that also serves shells; so packets are framed and decoded by
/// `SFTPCodec` (the same code the broker uses to observe them) and answered here.
final class SFTPServer {
    let home: String
    let reply: ([UInt8]) -> Void
    let report: (String) -> Void
    private var framer = SFTPCodec.Framer()
    var files: [UInt32: OpenFile] = [:]
    var dirs: [UInt32: DirectoryListing] = [:]
    var nextHandle: UInt32 = 1
    private(set) var failed = false

    final class OpenFile {
        let fd: Int32
        let path: String
        /// Whole-file replacements are written beside the target and renamed into place on close.
        let temporary: String?
        let writing: Bool
        var bytes: UInt64 = 0
        init(fd: Int32, path: String, temporary: String?, writing: Bool) {
            self.fd = fd
            self.path = path
            self.temporary = temporary
            self.writing = writing
        }
    }

    struct DirectoryListing {
        var path: String
        var entries: [String]
    }

    init(home: String, reply: @escaping ([UInt8]) -> Void, report: @escaping (String) -> Void) {
        self.home = home
        self.reply = reply
        self.report = report
    }

    /// Feeds channel bytes; returns false when the stream is beyond repair (the channel should close).
    func receive(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !failed else { return false }
        framer.append(bytes)
        do {
            while let body = try framer.next() {
                let message: SFTPMessage
                do {
                    message = try SFTPCodec.decode(body)
                } catch {
                    // A whole packet we cannot parse: answer if it has an id, and go on.
                    let id = body.count >= 5 ? UInt32(body[body.startIndex + 1]) << 24 | UInt32(body[body.startIndex + 2]) << 16
                        | UInt32(body[body.startIndex + 3]) << 8 | UInt32(body[body.startIndex + 4]) : 0
                    send(.status(id: id, code: SFTP.Status.badMessage.rawValue, message: "malformed request: \(error)"))
                    continue
                }
                handle(message)
            }
        } catch {
            report("Stopped a file transfer: the technician's side sent a broken request (\(error)).")
            failed = true
            return false
        }
        return true
    }

    /// The channel ended: unfinished uploads are removed, never left under their target name.
    func shutdown() {
        for (_, f) in files {
            Glibc.close(f.fd)
            if let t = f.temporary { unlink(t) }
        }
        files.removeAll()
        dirs.removeAll()
    }

    func send(_ message: SFTPMessage) { reply(SFTPCodec.encode(message)) }

    func status(_ id: UInt32, _ code: SFTP.Status, _ message: String = "") {
        send(.status(id: id, code: code.rawValue, message: message.isEmpty ? Self.text(code) : message))
    }

    func errnoStatus(_ id: UInt32, _ path: String, _ err: Int32 = errno) {
        let code: SFTP.Status
        switch err {
        case ENOENT, ENOTDIR: code = .noSuchFile
        case EACCES, EPERM, EROFS: code = .permissionDenied
        default: code = .failure
        }
        status(id, code, "\(path): \(String(cString: strerror(err)))")
    }

    static func text(_ code: SFTP.Status) -> String {
        switch code {
        case .ok: return "Success"
        case .eof: return "End of file"
        case .noSuchFile: return "No such file"
        case .permissionDenied: return "Permission denied"
        case .failure: return "Failure"
        case .badMessage: return "Bad message"
        case .noConnection: return "No connection"
        case .connectionLost: return "Connection lost"
        case .unsupported: return "Operation unsupported"
        }
    }

    /// Relative paths are relative to the user's home, as with OpenSSH.
    func resolve(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        if path.isEmpty || path == "." { return home }
        return home + "/" + path
    }

    func newHandle() -> (UInt32, [UInt8]) {
        let n = nextHandle
        nextHandle += 1
        return (n, [UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)])
    }

    func handleNumber(_ bytes: [UInt8]) -> UInt32? {
        guard bytes.count == 4 else { return nil }
        return UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])
    }
}
