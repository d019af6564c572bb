@preconcurrency import Crypto
import Foundation
import TandemAudit

/// Writes one shell channel as an asciicast v2 file, off the relay's event loop.
///
/// The relay hands over copies of the bytes and never waits: all encoding, hashing
/// and file I/O happen on the recorder's own serial queue. When finished, the file is
/// renamed to its SHA-256 so the event that names it covers its content.
public final class AsciicastRecorder: @unchecked Sendable {
    // Unchecked: `handle` and `hasher` are only touched on `queue`.
    private let directory: String
    private let partPath: String
    private let queue: DispatchQueue
    private let handle: FileHandle
    private let start: Date
    private var hasher = SHA256()
    private var size = 0

    public init(directory: String, name: String, columns: Int, rows: Int, term: String, title: String) throws {
        self.directory = directory
        partPath = directory + "/" + name + ".part"
        guard FileManager.default.createFile(atPath: partPath, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown)
        }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: partPath))
        start = Date()
        queue = DispatchQueue(label: "tandem.recorder")
        let header: [String: Any] = [
            "version": 2, "width": max(1, columns), "height": max(1, rows),
            "timestamp": Int(start.timeIntervalSince1970), "title": title, "env": ["TERM": term, "SHELL": "/bin/sh"],
        ]
        let data = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        queue.sync { writeLine(data) }
    }

    public func output(_ bytes: [UInt8]) { append("o", bytes) }
    public func input(_ bytes: [UInt8]) { append("i", bytes) }

    public func resize(columns: Int, rows: Int) {
        append("r", Array("\(columns)x\(rows)".utf8))
    }

    /// Flushes, closes and renames the file to `<sha256>.cast`; returns the hash and size.
    public func finish() -> (sha256: String, bytes: Int)? {
        queue.sync {
            try? handle.synchronize()
            try? handle.close()
            let sha = hasher.finalize().hexString
            let final = directory + "/" + sha + ".cast"
            do {
                if FileManager.default.fileExists(atPath: final) {
                    try FileManager.default.removeItem(atPath: partPath)
                } else {
                    try FileManager.default.moveItem(atPath: partPath, toPath: final)
                }
            } catch {
                return nil
            }
            return (sha, size)
        }
    }

    private func append(_ kind: String, _ bytes: [UInt8]) {
        let t = Date().timeIntervalSince(start)
        queue.async { [self] in
            let text = String(decoding: bytes, as: UTF8.self)
            guard let json = try? JSONSerialization.data(withJSONObject: [t, kind, text], options: [.fragmentsAllowed]) else { return }
            writeLine(json)
        }
    }

    private func writeLine(_ json: Data) {
        let line = json + Data("\n".utf8)
        handle.write(line)
        hasher.update(data: line)
        size += line.count
    }
}
