import Foundation
import LibSSH
import TandemAPI
import TandemCore

/// An SFTP v3 client on one channel through the broker, with requests pipelined.
///
/// libssh 0.10's SFTP client has asynchronous reads but only synchronous writes, so
/// uploads would cost a round trip per block; this client speaks the protocol itself
/// (with the same `SFTPCodec` the broker and agent use) and keeps many requests in flight.
final class SFTPClient {
    let session: SSHSession
    let channel: SSHChannel
    private let loop: SSHEventLoop
    private var framer = SFTPCodec.Framer()
    private var replies: [UInt32: SFTPMessage] = [:]
    private var version: UInt32?
    private var nextID: UInt32 = 1
    private var closed = false
    private var brokerMessage = ""
    private var streamError: String?

    init(session: SSHSession, sessionID: String) throws {
        self.session = session
        channel = try session.openChannel()
        loop = try SSHEventLoop()
        try loop.add(session)
        channel.onData = { [unowned self] bytes, isStderr in
            if isStderr {
                brokerMessage += String(decoding: bytes, as: UTF8.self)
                return
            }
            framer.append(bytes)
            do {
                while let body = try framer.next() {
                    switch try SFTPCodec.decode(body) {
                    case .version(let v, _): version = v
                    case let m: if let id = m.id { replies[id] = m }
                    }
                }
            } catch {
                streamError = "\(error)"
            }
        }
        channel.onClose = { [unowned self] in closed = true }
        channel.onEOF = { [unowned self] in closed = true }
        do {
            try channel.requestExec(ControlRequest.sftp(SessionID(rawValue: sessionID)).json)
            try send(.initialize(version: SFTP.version))
        } catch {
            // A broker that refuses the channel says why on stderr and closes it, which can beat
            // the first write: once the close is read, pump() throws the broker's words instead.
            for _ in 0..<50 { try pump() }
            throw error
        }
        while version == nil { try pump() }
    }

    /// Whether the transfer channel still works (a failed entry may be skipped; a broken stream may not).
    var isOpen: Bool { !closed && streamError == nil && session.isConnected }

    func send(_ message: SFTPMessage) throws {
        try channel.write(SFTPCodec.encode(message))
    }

    /// Sends a request and returns its id without waiting.
    func request(_ make: (UInt32) -> SFTPMessage) throws -> UInt32 {
        let id = nextID
        nextID &+= 1
        try send(make(id))
        return id
    }

    func wait(_ id: UInt32) throws -> SFTPMessage {
        while true {
            if let reply = replies.removeValue(forKey: id) { return reply }
            try pump()
        }
    }

    func call(_ make: (UInt32) -> SFTPMessage) throws -> SFTPMessage {
        try wait(try request(make))
    }

    private func pump() throws {
        if let streamError { throw CLIError.remote("the file transfer stream broke: \(streamError)") }
        if closed || !session.isConnected {
            let why = brokerMessage.trimmingCharacters(in: .whitespacesAndNewlines)
            throw CLIError.remote(why.isEmpty ? "the session closed the file transfer" : why.replacingOccurrences(of: "tandem: ", with: ""))
        }
        loop.poll(timeoutMs: 200)
    }

    func close() {
        channel.sendEOF()
        channel.close()
    }
}

// MARK: - Operations

extension SFTPClient {
    /// Turns an error status into a message naming the remote path.
    func check(_ reply: SFTPMessage, _ path: String) throws {
        if case .status(_, let code, let message) = reply, code != SFTP.Status.ok.rawValue {
            let text = message.isEmpty ? "error \(code)" : message
            throw CLIError.remote("\(path): \(text.hasPrefix(path) ? String(text.dropFirst(path.count + 2)) : text)")
        }
    }

    func attributes(_ path: String, follow: Bool = true) throws -> SFTPAttributes {
        let reply = try call { follow ? .stat(id: $0, path: path) : .lstat(id: $0, path: path) }
        if case .attrs(_, let a) = reply { return a }
        try check(reply, path)
        throw CLIError.remote("\(path): unexpected reply")
    }

    func open(_ path: String, _ flags: SFTP.OpenFlags, _ attributes: SFTPAttributes = SFTPAttributes()) throws -> [UInt8] {
        let reply = try call { .open(id: $0, path: path, flags: flags, attributes: attributes) }
        if case .handle(_, let h) = reply { return h }
        try check(reply, path)
        throw CLIError.remote("\(path): unexpected reply")
    }

    func closeHandle(_ handle: [UInt8], _ path: String) throws {
        try check(try call { .close(id: $0, handle: handle) }, path)
    }

    /// Every name the user's machine sent, as sent: callers check each with `RemoteName`.
    func list(_ path: String) throws -> [SFTPName] {
        let reply = try call { .opendir(id: $0, path: path) }
        guard case .handle(_, let h) = reply else {
            try check(reply, path)
            throw CLIError.remote("\(path): unexpected reply")
        }
        var names: [SFTPName] = []
        while true {
            let batch = try call { .readdir(id: $0, handle: h) }
            if case .name(_, let n) = batch { names += n; continue }
            if case .status(_, let code, _) = batch, code == SFTP.Status.eof.rawValue { break }
            try check(batch, path)
            break
        }
        try closeHandle(h, path)
        return names.sorted { $0.filename < $1.filename }
    }

    /// Puts a refusal only this side can judge on the ticket: the broker records the request
    /// (`RemoteName.refusalExtension`); the agent answers that it does not know it.
    func reportRefusal(path: String, reason: String, detail: String) {
        let payload = SFTPCodec.payload(strings: [path, reason, detail])
        _ = try? call { .extended(id: $0, name: RemoteName.refusalExtension, payload: payload) }
    }

    func readlink(_ path: String) throws -> String {
        let reply = try call { .readlink(id: $0, path: path) }
        if case .name(_, let names) = reply, let first = names.first { return first.filename }
        try check(reply, path)
        throw CLIError.remote("\(path): unexpected reply")
    }
}
