/// The last bytes sent on one stream, by their offset since the stream began, so a stream
/// cut by a dropped connection can be sent again from exactly where the other side stopped.
///
/// Bounded: past `capacity` the oldest bytes are forgotten, and asking for them says so.
public struct ReplayLog: Sendable {
    public struct Chunk: Sendable, Equatable {
        public var stderr: Bool
        public var bytes: [UInt8]
        public init(stderr: Bool, bytes: [UInt8]) {
            self.stderr = stderr
            self.bytes = bytes
        }
    }

    public let capacity: Int
    /// Chunks are filled up to about this size, so many tiny writes cost few arrays.
    static let chunkTarget = 16 * 1024
    /// Chunks held now (each at most `chunkTarget` plus one write): what the log costs besides its bytes.
    public var chunkCount: Int { chunks.count - head }
    private var chunks: [Chunk] = []
    /// Chunks before this index are forgotten (dropped in bulk, not one by one).
    private var head = 0
    /// Offset of the first byte still held.
    public private(set) var start: UInt64 = 0
    /// Bytes ever appended: the offset of the next one.
    public private(set) var total: UInt64 = 0
    private var held = 0

    public init(capacity: Int) { self.capacity = capacity }

    public mutating func append(_ bytes: UnsafeRawBufferPointer, stderr: Bool = false) {
        guard bytes.count > 0 else { return }
        // Small writes (typing, one byte each) fill the last chunk rather than each making one.
        if chunks.count > head, chunks[chunks.count - 1].stderr == stderr, chunks[chunks.count - 1].bytes.count < Self.chunkTarget {
            chunks[chunks.count - 1].bytes.append(contentsOf: bytes)
        } else {
            chunks.append(Chunk(stderr: stderr, bytes: Array(bytes)))
        }
        total += UInt64(bytes.count)
        held += bytes.count
        // The newest chunk stays even when it alone is over the capacity.
        while held > capacity, chunks.count - head > 1 {
            let size = chunks[head].bytes.count
            held -= size
            start += UInt64(size)
            head += 1
        }
        if head > 1024 && head * 2 > chunks.count {
            chunks.removeFirst(head)
            head = 0
        }
    }

    public mutating func append(_ bytes: [UInt8], stderr: Bool = false) {
        bytes.withUnsafeBytes { append($0, stderr: stderr) }
    }

    /// Everything from `offset` on, in order; nil when `offset` is already forgotten or was never sent.
    public func since(_ offset: UInt64) -> [Chunk]? {
        guard offset >= start, offset <= total else { return nil }
        var position = start
        var out: [Chunk] = []
        for chunk in chunks[head...] {
            let end = position + UInt64(chunk.bytes.count)
            if end > offset {
                let skip = Int(offset > position ? offset - position : 0)
                out.append(Chunk(stderr: chunk.stderr, bytes: Array(chunk.bytes[skip...])))
            }
            position = end
        }
        return out
    }
}
