import Foundation

/// Keeps a copy of one transferred file's bytes, off the event loop, for the auditor.
///
/// Bytes go to a temporary file; `finish(sha256:)` renames it to `<sha256>` when the
/// transfer was a whole file within the size cap, and otherwise deletes it.
final class FileCapture: @unchecked Sendable {
    // Unchecked: `handle` and `size` are only touched on `queue`.
    private let directory: String
    private let partPath: String
    private let limit: Int
    private let queue = DispatchQueue(label: "tandem.capture")
    private var handle: FileHandle?
    private var size = 0
    private var overLimit = false

    init?(directory: String, limit: Int) {
        self.directory = directory
        self.limit = limit
        partPath = directory + "/capture-\(UUID().uuidString).part"
        guard FileManager.default.createFile(atPath: partPath, contents: nil, attributes: [.posixPermissions: 0o600]),
              let h = FileHandle(forWritingAtPath: partPath) else { return nil }
        handle = h
    }

    func append(_ slice: ArraySlice<UInt8>) {
        let bytes = Data(slice)  // the framer reuses its buffer: the copy must be taken now
        queue.async { [self] in
            guard !overLimit, let handle else { return }
            size += bytes.count
            if size > limit {
                overLimit = true
                return
            }
            handle.write(bytes)
        }
    }

    /// Keeps the copy as `<sha256>` when `sha256` is given and the cap was not passed.
    func finish(sha256: String?) -> Bool {
        queue.sync {
            try? handle?.synchronize()
            try? handle?.close()
            handle = nil
            guard let sha256, !overLimit else {
                try? FileManager.default.removeItem(atPath: partPath)
                return false
            }
            let final = directory + "/" + sha256
            if FileManager.default.fileExists(atPath: final) {
                try? FileManager.default.removeItem(atPath: partPath)
                return true
            }
            return (try? FileManager.default.moveItem(atPath: partPath, toPath: final)) != nil
        }
    }
}
