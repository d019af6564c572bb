import NIOCore
import TandemCore

/// Holds a technician's SFTP requests that change or read a file until the end-user answers
/// (the `files:ask` scope), packet by packet; everything else passes as it comes.
///
/// A value that returns actions: the channel handler forwards, asks and answers. While a
/// question is open nothing behind it passes, so requests reach the agent in the order sent.
struct SFTPConsentGate {
    enum Action {
        /// Pass these bytes on to the agent.
        case forward(ByteBuffer)
        /// Ask the user; `held` is the packet that waits for the answer, `id` its request id.
        case ask(Question, held: ByteBuffer)
        /// The stream cannot be framed: close the channel.
        case fail(String)
    }

    /// What one held request would do, in the user's words and on the record.
    struct Question: Equatable {
        var id: UInt32
        /// download, upload, remove, remove folder, rename, link, change
        var operation: String
        var path: String
        var to: String?
    }

    private var buffer: ByteBuffer?
    private(set) var waiting = false
    /// Paths of files opened with the user's yes, by the id of their open and then by handle: a
    /// later change through the handle (FSETSTAT) is asked with its name.
    private var opening: [UInt32: String] = [:]
    private var handles: [[UInt8]: String] = [:]
    static let handlesKept = 1024

    /// An open the user allowed went on to the agent.
    mutating func opened(id: UInt32, path: String) {
        if opening.count >= Self.handlesKept { opening.removeAll() }
        opening[id] = path
    }

    /// The agent answered an open with a handle.
    mutating func handleReplied(id: UInt32, handle: [UInt8]) {
        guard let path = opening.removeValue(forKey: id) else { return }
        if handles.count >= Self.handlesKept { handles.removeAll() }
        handles[handle] = path
    }

    /// Bytes not yet passed on (a packet begun, or requests behind an open question).
    var held: Int { buffer?.readableBytes ?? 0 }

    /// Takes the technician's next bytes; `askEach` is false once the user answered "all".
    mutating func take(_ bytes: ByteBuffer, askEach: Bool) -> [Action] {
        if var b = buffer {
            var more = bytes
            b.writeBuffer(&more)
            buffer = b
        } else {
            buffer = bytes
        }
        return cut(askEach: askEach)
    }

    /// Gives back everything held (the agent is away: it all goes through the gate again later,
    /// in order, after the packets already handed out); no question is open after this.
    mutating func drain() -> ByteBuffer? {
        waiting = false
        defer { buffer = nil }
        return buffer
    }

    /// The open question was answered (the handler passed on or refused its packet): go on.
    mutating func answered(askEach: Bool) -> [Action] {
        waiting = false
        return cut(askEach: askEach)
    }

    private mutating func cut(askEach: Bool) -> [Action] {
        guard !waiting, var b = buffer else { return [] }
        buffer = nil
        var out: [Action] = []
        // Whole packets from the reader index that pass as they are: sent on in one slice.
        var passing = 0
        while let length = b.getInteger(at: b.readerIndex + passing, as: UInt32.self).map(Int.init) {
            guard length > 0, length <= SFTP.maxPacket else {
                out.append(.fail(length == 0 ? "empty SFTP packet" : "SFTP packet of \(length) bytes exceeds the \(SFTP.maxPacket)-byte limit"))
                return out
            }
            guard b.readableBytes - passing >= 4 + length else { break }
            let at = b.readerIndex + passing
            if askEach, Self.mayAsk(b.getInteger(at: at + 4, as: UInt8.self) ?? 0),
               let body = b.getBytes(at: at + 4, length: length), let question = question(body[...]) {
                if passing > 0, let before = b.readSlice(length: passing) { out.append(.forward(before)) }
                guard let packet = b.readSlice(length: 4 + length) else { break }
                out.append(.ask(question, held: packet))
                waiting = true
                if b.readableBytes > 0 { buffer = b }
                return out
            }
            passing += 4 + length
        }
        if passing > 0, let whole = b.readSlice(length: passing) { out.append(.forward(whole)) }
        if b.readableBytes > 0 { buffer = b }
        return out
    }

    /// Packet types that can need the user's answer: only these are decoded.
    private static func mayAsk(_ type: UInt8) -> Bool { [3, 9, 10, 13, 15, 18, 20, 200].contains(type) }

    /// The question a request needs, or nil when it needs none (a stat, a listing, a write to a
    /// file already allowed, a setstat of times only, an unknown extension).
    func question(_ body: ArraySlice<UInt8>) -> Question? {
        guard let message = try? SFTPCodec.decode(body) else { return nil }
        switch message {
        case .open(let id, let path, let flags, _):
            let writes = flags.contains(.write) || flags.contains(.append) || flags.contains(.create) || flags.contains(.truncate)
            return Question(id: id, operation: writes ? "upload" : "download", path: path)
        case .remove(let id, let path): return Question(id: id, operation: "remove", path: path)
        case .rmdir(let id, let path): return Question(id: id, operation: "remove folder", path: path)
        case .rename(let id, let from, let to): return Question(id: id, operation: "rename", path: from, to: to)
        case .symlink(let id, let target, let link): return Question(id: id, operation: "link", path: link, to: target)
        case .setstat(let id, let path, let attributes):
            // A size truncates the file; permissions or an owner can open it to others. Times alone change nothing in it.
            guard Self.changesFile(attributes) else { return nil }
            return Question(id: id, operation: "change", path: path)
        case .fsetstat(let id, let handle, let attributes):
            guard Self.changesFile(attributes) else { return nil }
            return Question(id: id, operation: "change", path: handles[handle] ?? "a file it opened earlier")
        case .extended(let id, let name, let payload):
            guard name == "posix-rename@openssh.com", let names = SFTPCodec.strings(payload, count: 2) else { return nil }
            return Question(id: id, operation: "rename", path: names[0], to: names[1])
        default:
            return nil
        }
    }

    static func changesFile(_ a: SFTPAttributes) -> Bool { a.size != nil || a.permissions != nil || a.uid != nil || a.gid != nil }

    /// The reply a refused request gets instead of reaching the agent.
    static func refusal(id: UInt32, allocator: ByteBufferAllocator, message: String = refusedMessage) -> ByteBuffer {
        allocator.buffer(bytes: SFTPCodec.encode(.status(id: id, code: SFTP.Status.permissionDenied.rawValue, message: message)))
    }

    /// What the technician's client shows for a refused request.
    static let refusedMessage = "the user refused"
}

/// Follows the agent's SFTP replies on their way to the technician, to know where one packet
/// ends: a reply the broker makes itself (a refusal) may only go in between two of them. It also
/// reads the handles opens are answered with (small packets), to name a file changed by handle.
struct SFTPReplyBoundary {
    /// Bytes of the current packet still to come.
    private var remaining = 0
    private var lengthBytes: [UInt8] = []
    /// The current packet's bytes, while it is small enough to be a HANDLE reply.
    private var small: [UInt8]?

    var atBoundary: Bool { remaining == 0 && lengthBytes.isEmpty }

    /// Takes the next bytes; returns the (request id, handle) of each HANDLE reply completed in them.
    @discardableResult
    mutating func passed(_ bytes: ByteBuffer) -> [(id: UInt32, handle: [UInt8])] {
        var handles: [(id: UInt32, handle: [UInt8])] = []
        var view = bytes.readableBytesView[...]
        while !view.isEmpty {
            if remaining > 0 {
                let n = min(remaining, view.count)
                if small != nil { small?.append(contentsOf: view.prefix(n)) }
                remaining -= n
                view = view.dropFirst(n)
                if remaining == 0, let packet = small {
                    small = nil
                    if let reply = Self.handleReply(packet) { handles.append(reply) }
                }
                continue
            }
            let need = 4 - lengthBytes.count
            lengthBytes.append(contentsOf: view.prefix(need))
            view = view.dropFirst(need)
            guard lengthBytes.count == 4 else { break }
            remaining = lengthBytes.reduce(0) { $0 << 8 | Int($1) }
            lengthBytes.removeAll()
            small = remaining <= 300 ? [] : nil
        }
        return handles
    }

    private static func handleReply(_ packet: [UInt8]) -> (id: UInt32, handle: [UInt8])? {
        guard let message = try? SFTPCodec.decode(packet[...]), case .handle(let id, let handle) = message else { return nil }
        return (id, handle)
    }
}

/// Runs foreign bytes through the gate and the reply boundary, for the fuzzer: any answer, never a crash.
public enum SFTPConsentProbe {
    public static func run(_ bytes: [UInt8]) {
        let allocator = ByteBufferAllocator()
        var gate = SFTPConsentGate()
        var boundary = SFTPReplyBoundary()
        let cut = bytes.count / 3
        for (index, part) in [bytes[..<cut], bytes[cut...]].enumerated() {
            let buffer = allocator.buffer(bytes: part)
            boundary.passed(buffer)
            for action in gate.take(buffer, askEach: index == 0) {
                if case .ask(let question, _) = action { _ = SFTPConsentGate.refusal(id: question.id, allocator: allocator) }
            }
            _ = gate.answered(askEach: false)
        }
    }
}
