import Foundation

/// Writes one shell channel as an asciicast v2 file, off the relay's event loop.
///
/// The relay hands over copies of the bytes and never waits: all encoding and
/// file I/O happen on the recorder's own serial queue.
public final class AsciicastRecorder: Sendable {
    public let path: String
    private let queue: DispatchQueue
    private let handle: FileHandle
    private let start: Date

    public init(path: String, columns: Int, rows: Int, term: String, title: String) throws {
        self.path = path
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown)
        }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        start = Date()
        queue = DispatchQueue(label: "tandem.recorder")
        let header: [String: Any] = [
            "version": 2, "width": max(1, columns), "height": max(1, rows),
            "timestamp": Int(start.timeIntervalSince1970), "title": title, "env": ["TERM": term, "SHELL": "/bin/sh"],
        ]
        let data = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        handle.write(data + Data("\n".utf8))
    }

    public func output(_ bytes: [UInt8]) { append("o", bytes) }
    public func input(_ bytes: [UInt8]) { append("i", bytes) }

    public func resize(columns: Int, rows: Int) {
        append("r", Array("\(columns)x\(rows)".utf8))
    }

    /// Flushes and closes the file; returns when everything is on disk.
    public func finish() {
        queue.sync {
            try? handle.synchronize()
            try? handle.close()
        }
    }

    private func append(_ kind: String, _ bytes: [UInt8]) {
        let t = Date().timeIntervalSince(start)
        queue.async { [handle] in
            let text = String(decoding: bytes, as: UTF8.self)
            guard let json = try? JSONSerialization.data(withJSONObject: [t, kind, text], options: [.fragmentsAllowed]) else { return }
            handle.write(json + Data("\n".utf8))
        }
    }
}
