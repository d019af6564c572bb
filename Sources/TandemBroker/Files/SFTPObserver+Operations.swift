import Crypto
import Foundation
import TandemAudit
import TandemCore

// MARK: - Requests and replies

extension SFTPObserver {
    func request(_ m: SFTPMessage, _ s: inout State, _ out: inout [any EventPayload]) {
        switch m {
        case .open(let id, let path, let flags, _): s.pending[id] = Pending(op: "open", path: path, flags: flags)
        case .close(let id, let h): s.pending[id] = Pending(op: "close", handle: h)
        case .read(let id, let h, let offset, _): s.pending[id] = Pending(op: "read", handle: h, offset: offset)
        case .write(let id, let h, let offset, let data):
            write(id: id, handle: h, offset: offset, data: data[...], &s)
        case .remove(let id, let p): s.pending[id] = Pending(op: "remove", path: p)
        case .mkdir(let id, let p, _): s.pending[id] = Pending(op: "mkdir", path: p)
        case .rmdir(let id, let p): s.pending[id] = Pending(op: "rmdir", path: p)
        case .rename(let id, let from, let to): s.pending[id] = Pending(op: "rename", path: from, to: to)
        case .setstat(let id, let p, _): s.pending[id] = Pending(op: "setstat", path: p)
        case .fsetstat(let id, let h, _): s.pending[id] = Pending(op: "setstat", path: s.files[h]?.path, handle: h)
        case .symlink(let id, let target, let link): s.pending[id] = Pending(op: "symlink", path: link, to: target)
        case .opendir(let id, let p): s.pending[id] = Pending(op: "list", path: p)
        case .stat(let id, let p), .lstat(let id, let p): s.pending[id] = Pending(op: "stat", path: p)
        case .realpath(let id, let p): s.pending[id] = Pending(op: "realpath", path: p)
        case .readlink(let id, let p): s.pending[id] = Pending(op: "readlink", path: p)
        case .extended(let id, let name, let payload):
            if name == "posix-rename@openssh.com", let names = SFTPCodec.strings(payload, count: 2) {
                s.pending[id] = Pending(op: "rename", path: names[0], to: names[1])
            } else if name == RemoteName.refusalExtension, let words = SFTPCodec.strings(payload, count: 3) {
                // The technician's client refused something only it can judge (a link leaving its
                // destination, a link already on its side): its own report, on the ticket, counted
                // with the broker's own refusals so a flood of reports is capped too.
                s.refusedNames += 1
                if s.refusedNames <= Self.refusedNamesRecorded {
                    out.append(FileNameRefused(path: String(words[0].prefix(1024)), reason: String(words[1].prefix(64)),
                                               detail: String(words[2].prefix(1024)), reportedBy: "client"))
                }
            } else {
                s.pending[id] = Pending(op: "extended:\(name.prefix(60))")
            }
        case .unknown(let type, let id):
            out.append(SFTPUnknownRequest(type: Int(type)))
            if let id { s.pending[id] = Pending(op: "unknown") }
        case .readdir(let id, let h): s.pending[id] = Pending(op: "readdir", path: s.dirs[h], handle: h)
        case .fstat, .initialize:
            break
        case .version, .status, .handle, .data, .name, .attrs:
            malformed(SFTPMalformed(from: "technician", problem: "a reply sent as a request"), &s, &out)
        }
    }

    func reply(_ m: SFTPMessage, _ s: inout State, _ out: inout [any EventPayload]) {
        guard let id = m.id, let p = s.pending.removeValue(forKey: id) else { return }
        switch (p.op, m) {
        case ("open", .handle(_, let h)):
            let capture = captureDirectory.flatMap { FileCapture(directory: $0, limit: captureLimit, onFailure: onCaptureFailure) }
            s.files[h] = OpenFile(path: p.path ?? "", flags: p.flags ?? [], capture: capture)
        case ("read", .data(_, let data)):
            readData(p, data[...], &s)
        case ("read", .status(_, let code, _)):
            if code == SFTP.Status.eof.rawValue, let h = p.handle, let f = s.files[h], p.offset == f.next { f.sawEOF = true }
        case ("write", .status(_, let code, let message)):
            if code != SFTP.Status.ok.rawValue, let h = p.handle, let f = s.files[h] {
                if !f.failed {
                    out.append(FileOpFailed(op: "write", path: f.path, status: Self.statusName(code), message: String(message.prefix(200))))
                }
                f.failed = true
            }
        case ("close", .status(_, let code, _)):
            if let h = p.handle { s.dirs[h] = nil }
            guard let h = p.handle, let f = s.files.removeValue(forKey: h) else { return }
            out.append(closeEvent(f, ok: code == SFTP.Status.ok.rawValue))
        case (_, .status(_, let code, let message)):
            if code == SFTP.Status.ok.rawValue {
                if ["stat", "realpath", "readlink"].contains(p.op) { return }
                var op = FileOp(op: p.op, path: p.path ?? "")
                if p.op == "symlink" { op.target = p.to } else { op.to = p.to }
                out.append(op)
            } else if code != SFTP.Status.eof.rawValue {
                out.append(FileOpFailed(op: p.op, path: p.path ?? "", status: Self.statusName(code), message: String(message.prefix(200)),
                                        flags: p.flags?.words))
            }
        case ("list", .handle(_, let h)):
            s.dirs[h] = p.path ?? ""
            out.append(FileOp(op: "list", path: p.path ?? ""))
        case ("readdir", .name(_, let names)):
            // A listing is the user's machine speaking: a name that is not one plain path
            // component is on record, whatever the client then does with it.
            for n in names {
                guard let problem = RemoteName.problem(n.filename) else { continue }
                s.refusedNames += 1
                guard s.refusedNames <= Self.refusedNamesRecorded else { continue }
                out.append(FileNameRefused(path: p.path ?? "", name: String(n.filename.prefix(4096)), reason: problem.rawValue, reportedBy: "broker"))
            }
        default:
            break
        }
    }

    /// Both directions' file bytes end here, as views into the framed packet (see `SFTPCodec.bulk`).
    func write(id: UInt32, handle: [UInt8], offset: UInt64, data: ArraySlice<UInt8>, _ s: inout State) {
        s.pending[id] = Pending(op: "write", handle: handle, offset: offset)
        guard let f = s.files[handle] else { return }
        f.written += UInt64(data.count)
        take(data, at: offset, into: f)
    }

    func readData(_ p: Pending, _ data: ArraySlice<UInt8>, _ s: inout State) {
        guard let h = p.handle, let f = s.files[h] else { return }
        f.read += UInt64(data.count)
        take(data, at: p.offset, into: f)
    }

    private func take(_ data: ArraySlice<UInt8>, at offset: UInt64, into f: OpenFile) {
        guard offset == f.next && f.contiguous else {
            f.contiguous = false
            return
        }
        f.hasher.update(data: data)
        f.capture?.append(data)
        f.next += UInt64(data.count)
    }

    private func closeEvent(_ f: OpenFile, ok: Bool) -> FileTransfer {
        let upload = f.flags.contains(.write)
        var event = FileTransfer(path: f.path, flags: f.flags.words, direction: upload ? "upload" : "download",
                                 bytes: Int(upload ? f.written : f.read))
        let whole = ok && f.contiguous && !f.failed
            && (upload ? (f.flags.contains(.truncate) || f.flags.contains(.create)) && f.next == f.written : f.sawEOF)
        if whole {
            let sha = f.hasher.finalize().hexString
            event.sha256 = sha
            if let capture = f.capture, capture.finish(sha256: sha) { event.contentSha256 = sha }
        } else {
            _ = f.capture?.finish(sha256: nil)
            if !ok { event.status = "close failed" }
        }
        return event
    }

    static func statusName(_ code: UInt32) -> String {
        switch SFTP.Status(rawValue: code) {
        case .noSuchFile: return "no_such_file"
        case .permissionDenied: return "permission_denied"
        case .failure: return "failure"
        case .badMessage: return "bad_message"
        case .unsupported: return "unsupported"
        default: return "status_\(code)"
        }
    }
}
