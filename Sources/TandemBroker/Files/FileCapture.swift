import Foundation
import Glibc
import TandemCore

/// Keeps a copy of one transferred file's bytes, off the event loop, for the auditor.
///
/// Bytes go to a temporary file; `finish(sha256:)` renames it to `<sha256>` when the
/// transfer was a whole file within the size cap, and otherwise deletes it. A write that
/// fails abandons the copy and calls `onFailure` once: capture is part of the record, so
/// the broker treats it like a recording that cannot be written. Nothing here can trap.
final class FileCapture: @unchecked Sendable {
    // Unchecked: `fd`, `size`, `overLimit` and `failed` are only touched on `queue`.
    private let directory: String
    private let partPath: String
    private let limit: Int
    private let queue = DispatchQueue(label: "tandem.capture")
    private let onFailure: @Sendable (RecordingFailure) -> Void
    private var fd: Int32
    private var size = 0
    private var overLimit = false
    private var failed = false

    init?(directory: String, limit: Int, onFailure: @escaping @Sendable (RecordingFailure) -> Void) {
        self.directory = directory
        self.limit = limit
        self.onFailure = onFailure
        partPath = directory + "/capture-\(UUID().uuidString).part"
        fd = open(partPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            onFailure(.fromErrno(errno, "cannot create a file capture"))
            return nil
        }
    }

    func append(_ slice: ArraySlice<UInt8>) {
        let bytes = Array(slice)  // the framer reuses its buffer: the copy must be taken now
        queue.async { [self] in
            guard !overLimit, !failed, fd >= 0 else { return }
            size += bytes.count
            if size > limit {
                overLimit = true
                return
            }
            if let error = bytes.withUnsafeBytes({ writeCounting(fd, $0).error }) {
                failed = true
                onFailure(.fromErrno(error, "cannot write a file capture"))
            }
        }
    }

    /// Keeps the copy as `<sha256>` when `sha256` is given, the cap was not passed and every write worked.
    func finish(sha256: String?) -> Bool {
        queue.sync {
            let synced = fd >= 0 && fsync(fd) == 0
            if fd >= 0 { close(fd) }
            fd = -1
            guard let sha256, !overLimit, !failed, synced else {
                unlink(partPath)
                return false
            }
            let final = directory + "/" + sha256
            if access(final, F_OK) == 0 {
                unlink(partPath)
                return true
            }
            return rename(partPath, final) == 0
        }
    }
}
