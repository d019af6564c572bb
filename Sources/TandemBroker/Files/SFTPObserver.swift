@preconcurrency import Crypto
import Foundation
import Synchronization
import TandemAudit
import TandemCore

/// Watches an SFTP stream in both directions as it is relayed, and records every file operation.
///
/// It never holds bytes back: the relay forwards first and shows the observer a copy.
/// Each direction is framed and decoded; requests are matched to replies by id so
/// each operation is recorded with its outcome, and whole-file transfers with their SHA-256.
final class SFTPObserver: Sendable {
    enum Verdict { case keepGoing, close(String) }

    struct Pending {
        var op: String
        var path: String?
        var to: String?
        var flags: SFTP.OpenFlags?
        var handle: [UInt8]?
        var offset: UInt64 = 0
    }

    final class OpenFile {
        let path: String
        let flags: SFTP.OpenFlags
        var next: UInt64 = 0
        var contiguous = true
        var failed = false
        var sawEOF = false
        var written: UInt64 = 0
        var read: UInt64 = 0
        var hasher = SHA256()
        let capture: FileCapture?
        init(path: String, flags: SFTP.OpenFlags, capture: FileCapture?) {
            self.path = path
            self.flags = flags
            self.capture = capture
        }
    }

    struct State {
        var fromTechnician = SFTPCodec.Framer()
        var fromAgent = SFTPCodec.Framer()
        var pending: [UInt32: Pending] = [:]
        var files: [[UInt8]: OpenFile] = [:]
        /// Open directory handles and the folder each lists, to name it when a listing holds a refused name.
        var dirs: [[UInt8]: String] = [:]
        /// Refused names recorded one by one so far; past `refusedNamesRecorded` they are only counted.
        var refusedNames = 0
        /// Packets that did not parse; past `malformedRecorded` they are only counted.
        var malformed = 0
        var broken = false
    }

    private let state = Mutex(State())
    /// Where each event goes, in order, as it is seen: the journal (synchronous, no I/O).
    private let record: @Sendable (any EventPayload) -> Void
    let captureDirectory: String?
    let captureLimit: Int
    /// A capture could not be written: the record is incomplete.
    let onCaptureFailure: @Sendable (RecordingFailure) -> Void

    /// `record` receives events in order; `captureDirectory` turns content capture on.
    init(captureDirectory: String?, captureLimit: Int, onCaptureFailure: @escaping @Sendable (RecordingFailure) -> Void = { _ in },
         record: @escaping @Sendable (any EventPayload) -> Void) {
        self.captureDirectory = captureDirectory
        self.captureLimit = captureLimit
        self.onCaptureFailure = onCaptureFailure
        self.record = record
    }

    func fromTechnician(_ bytes: UnsafeRawBufferPointer) -> Verdict {
        observe(bytes, technician: true)
    }

    func fromAgent(_ bytes: UnsafeRawBufferPointer) -> Verdict {
        observe(bytes, technician: false)
    }

    /// A listing of thousands of hostile names is one event per name up to here, then a count.
    static let refusedNamesRecorded = 100
    /// Malformed packets recorded one by one; a client sending thousands is then counted.
    static let malformedRecorded = 100

    /// Records a malformed packet while under the cap.
    func malformed(_ event: SFTPMalformed, _ s: inout State, _ out: inout [any EventPayload]) {
        s.malformed += 1
        if s.malformed <= Self.malformedRecorded { out.append(event) }
    }

    /// The channel closed: files still open were interrupted.
    func finish() {
        let (open, refused, malformed) = state.withLock { s -> ([OpenFile], Int, Int) in
            let f = Array(s.files.values)
            s.files.removeAll()
            return (f, s.refusedNames, s.malformed)
        }
        if malformed > Self.malformedRecorded {
            record(SFTPMalformed(from: "both", problem: "\(malformed - Self.malformedRecorded) more malformed packets, counted, not recorded one by one"))
        }
        if refused > Self.refusedNamesRecorded {
            record(FileNameRefused(reason: "many", count: refused - Self.refusedNamesRecorded, reportedBy: "broker"))
        }
        for f in open {
            _ = f.capture?.finish(sha256: nil)
            record(FileTransferInterrupted(path: f.path, bytesWritten: Int(f.written), bytesRead: Int(f.read)))
        }
    }

    /// File content: hashed in place, never decoded into a copy (it is most of the bytes).
    private func observeContent(_ b: SFTPCodec.Bulk, technician: Bool, _ s: inout State, _ out: inout [any EventPayload]) {
        if technician, let handle = b.handle {
            write(id: b.id, handle: handle, offset: b.offset, data: b.data, &s)
        } else if !technician, b.handle == nil {
            guard let p = s.pending.removeValue(forKey: b.id) else { return }
            if p.op == "read" { readData(p, b.data, &s) }
        } else {
            let problem = technician ? "a reply sent as a request" : "a request sent as a reply"
            malformed(SFTPMalformed(from: technician ? "technician" : "agent", problem: problem), &s, &out)
        }
    }

    private func observe(_ bytes: UnsafeRawBufferPointer, technician: Bool) -> Verdict {
        var out: [any EventPayload] = []
        let verdict: Verdict = state.withLock { s in
            guard !s.broken else { return .keepGoing }
            do {
                if technician { s.fromTechnician.append(bytes) } else { s.fromAgent.append(bytes) }
                while let body = technician ? try s.fromTechnician.next() : try s.fromAgent.next() {
                    if let content = SFTPCodec.bulk(body) {
                        observeContent(content, technician: technician, &s, &out)
                        continue
                    }
                    do {
                        let message = try SFTPCodec.decode(body)
                        if technician { request(message, &s, &out) } else { reply(message, &s, &out) }
                    } catch {
                        malformed(SFTPMalformed(from: technician ? "technician" : "agent", problem: "\(error)"), &s, &out)
                    }
                }
                return .keepGoing
            } catch {
                s.broken = true
                out.append(SFTPMalformed(from: technician ? "technician" : "agent", problem: "\(error)", action: "channel closed"))
                return .close("\(error)")
            }
        }
        for e in out { record(e) }
        return verdict
    }
}
