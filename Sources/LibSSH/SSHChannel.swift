import CLibSSH

/// The window size of a terminal, in characters.
public struct TerminalSize: Sendable, Equatable {
    public var columns: Int
    public var rows: Int
    public init(columns: Int, rows: Int) {
        self.columns = columns
        self.rows = rows
    }
}

/// One SSH channel; what the peer asks of it arrives through the closures.
public final class SSHChannel {
    let raw: OpaquePointer
    /// Keeps the session alive: libssh frees channels with their session.
    let session: SSHSession
    private var callbacks: UnsafeMutablePointer<ssh_channel_callbacks_struct>?
    private var freed = false

    public var onData: ((UnsafeRawBufferPointer, _ isStderr: Bool) -> Void)?
    public var onEOF: (() -> Void)?
    public var onClose: (() -> Void)?
    public var onExitStatus: ((Int32) -> Void)?
    public var onPtyRequest: ((_ term: String, TerminalSize) -> Bool)?
    public var onShellRequest: (() -> Bool)?
    public var onExecRequest: ((String) -> Bool)?
    public var onSubsystemRequest: ((String) -> Bool)?
    public var onWindowChange: ((TerminalSize) -> Void)?
    public var onSignal: ((String) -> Void)?
    /// An environment variable the peer sets (`name`, `value`); true accepts it.
    public var onEnvRequest: ((String, String) -> Bool)?

    init(raw: OpaquePointer, session: SSHSession) {
        self.raw = raw
        self.session = session
        installCallbacks()
    }

    deinit {
        if !freed { ssh_channel_free(raw) }
        callbacks?.deallocate()
    }

    public var isOpen: Bool { ssh_channel_is_open(raw) != 0 }
    public var isClosed: Bool { ssh_channel_is_closed(raw) != 0 }
    public var isEOF: Bool { ssh_channel_is_eof(raw) != 0 }

    /// Sends all of `bytes` (blocks while the peer's window is full).
    public func write(_ bytes: UnsafeRawBufferPointer, stderr: Bool = false) throws(SSHError) {
        var offset = 0
        while offset < bytes.count {
            let chunk = UInt32(min(bytes.count - offset, 32 * 1024))
            let base = bytes.baseAddress!.advanced(by: offset)
            let n = stderr ? ssh_channel_write_stderr(raw, base, chunk) : ssh_channel_write(raw, base, chunk)
            guard n > 0 else { throw .call("writing to the channel", detail: lastError(session.raw)) }
            offset += Int(n)
        }
    }

    public func write(_ bytes: [UInt8], stderr: Bool = false) throws(SSHError) {
        let failure = bytes.withUnsafeBytes { p -> SSHError? in
            do { try write(p, stderr: stderr); return nil } catch let e as SSHError { return e } catch { return .channelClosed }
        }
        if let failure { throw failure }
    }

    // MARK: non-blocking output

    /// Bytes accepted by `enqueue` and not yet sent.
    public private(set) var pendingBytes = 0
    private var outbox: [(stderr: Bool, bytes: [UInt8])] = []
    private var outboxOffset = 0

    /// Queues bytes to send as the peer's window allows.
    ///
    /// Inside libssh callbacks a blocking write cannot wait for a window adjust (the
    /// session is already being polled), so it would fail and lose data; queue instead,
    /// and call `flush()` after each poll.
    public func enqueue(_ bytes: UnsafeRawBufferPointer, stderr: Bool = false) {
        guard bytes.count > 0 else { return }
        outbox.append((stderr, Array(bytes)))
        pendingBytes += bytes.count
    }

    public func enqueue(_ bytes: [UInt8], stderr: Bool = false) {
        bytes.withUnsafeBytes { enqueue($0, stderr: stderr) }
    }

    /// Sends what the window allows without blocking; true when nothing is left queued.
    @discardableResult
    public func flush() -> Bool {
        while let first = outbox.first {
            let window = Int(ssh_channel_window_size(raw))
            guard window > 0 else { return false }
            let n = min(window, first.bytes.count - outboxOffset, 32 * 1024)
            let written = first.bytes.withUnsafeBytes { p -> Int32 in
                let base = p.baseAddress!.advanced(by: outboxOffset)
                return first.stderr ? ssh_channel_write_stderr(raw, base, UInt32(n)) : ssh_channel_write(raw, base, UInt32(n))
            }
            guard written > 0 else { return false }
            outboxOffset += Int(written)
            pendingBytes -= Int(written)
            if outboxOffset == first.bytes.count {
                outbox.removeFirst()
                outboxOffset = 0
            }
        }
        return true
    }

    // MARK: input back-pressure

    /// While true, incoming data stays buffered in libssh and the peer is held back by the window.
    public var inputPaused = false

    /// Delivers, through `onData`, what libssh buffered while input was paused.
    /// Call outside libssh callbacks; stops early if `onData` pauses input again.
    public func deliverBufferedInput() {
        var buffer = [UInt8](repeating: 0, count: 32 * 1024)
        while !inputPaused {
            let n = buffer.withUnsafeMutableBytes { ssh_channel_read_nonblocking(raw, $0.baseAddress, UInt32($0.count), 0) }
            guard n > 0 else { return }
            buffer.withUnsafeBytes { onData?(UnsafeRawBufferPointer(rebasing: $0[0..<Int(n)]), false) }
        }
    }

    public func sendEOF() { _ = ssh_channel_send_eof(raw) }
    /// Closes our side. Incoming data is no longer taken: libssh would otherwise keep widening
    /// the window with WINDOW_ADJUST after our CLOSE, which a strict peer (swift-nio-ssh) treats
    /// as a protocol violation and drops the whole connection.
    public func close() {
        inputPaused = true
        _ = ssh_channel_close(raw)
    }
    public func sendExitStatus(_ status: Int32) { _ = ssh_channel_request_send_exit_status(raw, status) }

    // MARK: client requests

    public func openSession() throws(SSHError) {
        try check(ssh_channel_open_session(raw), "opening a channel", session.raw)
    }

    public func requestPty(term: String, size: TerminalSize) throws(SSHError) {
        try check(ssh_channel_request_pty_size(raw, term, Int32(size.columns), Int32(size.rows)), "requesting a terminal", session.raw)
    }

    public func requestShell() throws(SSHError) {
        try check(ssh_channel_request_shell(raw), "starting a shell", session.raw)
    }

    public func requestExec(_ command: String) throws(SSHError) {
        try check(ssh_channel_request_exec(raw, command), "running the command", session.raw)
    }

    public func changePtySize(_ size: TerminalSize) {
        _ = ssh_channel_change_pty_size(raw, Int32(size.columns), Int32(size.rows))
    }

    /// The remote command's exit status, or nil if none was sent.
    public var exitStatus: Int32? {
        let s = ssh_channel_get_exit_status(raw)
        return s < 0 ? nil : s
    }
}

// MARK: - Callbacks

extension SSHChannel {
    private func installCallbacks() {
        let cb = UnsafeMutablePointer<ssh_channel_callbacks_struct>.allocate(capacity: 1)
        cb.initialize(to: ssh_channel_callbacks_struct())
        cb.pointee.size = MemoryLayout<ssh_channel_callbacks_struct>.size
        cb.pointee.userdata = Unmanaged.passUnretained(self).toOpaque()
        cb.pointee.channel_data_function = dataTrampoline
        cb.pointee.channel_eof_function = eofTrampoline
        cb.pointee.channel_close_function = closeTrampoline
        cb.pointee.channel_exit_status_function = exitStatusTrampoline
        cb.pointee.channel_pty_request_function = ptyTrampoline
        cb.pointee.channel_shell_request_function = shellTrampoline
        cb.pointee.channel_exec_request_function = execTrampoline
        cb.pointee.channel_subsystem_request_function = subsystemTrampoline
        cb.pointee.channel_pty_window_change_function = windowTrampoline
        cb.pointee.channel_signal_function = signalTrampoline
        cb.pointee.channel_env_request_function = envTrampoline
        callbacks = cb
        ssh_set_channel_callbacks(raw, cb)
    }
}

private func channel(_ userdata: UnsafeMutableRawPointer?) -> SSHChannel {
    Unmanaged<SSHChannel>.fromOpaque(userdata!).takeUnretainedValue()
}

private let dataTrampoline: ssh_channel_data_callback = { _, _, data, length, isStderr, userdata in
    let me = channel(userdata)
    // Paused: leave the bytes with libssh, which then stops widening the peer's window.
    if me.inputPaused && isStderr == 0 { return 0 }
    if let data { me.onData?(UnsafeRawBufferPointer(start: data, count: Int(length)), isStderr != 0) }
    return Int32(length)
}
private let eofTrampoline: ssh_channel_eof_callback = { _, _, userdata in channel(userdata).onEOF?() }
private let closeTrampoline: ssh_channel_close_callback = { _, _, userdata in channel(userdata).onClose?() }
private let exitStatusTrampoline: ssh_channel_exit_status_callback = { _, _, status, userdata in
    channel(userdata).onExitStatus?(status)
}
private let ptyTrampoline: ssh_channel_pty_request_callback = { _, _, term, width, height, _, _, userdata in
    let ok = channel(userdata).onPtyRequest?(term.map { String(cString: $0) } ?? "xterm", TerminalSize(columns: Int(width), rows: Int(height))) ?? false
    return ok ? 0 : -1
}
private let shellTrampoline: ssh_channel_shell_request_callback = { _, _, userdata in
    (channel(userdata).onShellRequest?() ?? false) ? 0 : -1
}
private let execTrampoline: ssh_channel_exec_request_callback = { _, _, command, userdata in
    guard let command else { return -1 }
    return (channel(userdata).onExecRequest?(String(cString: command)) ?? false) ? 0 : -1
}
private let subsystemTrampoline: ssh_channel_subsystem_request_callback = { _, _, name, userdata in
    guard let name else { return -1 }
    return (channel(userdata).onSubsystemRequest?(String(cString: name)) ?? false) ? 0 : -1
}
private let windowTrampoline: ssh_channel_pty_window_change_callback = { _, _, width, height, _, _, userdata in
    channel(userdata).onWindowChange?(TerminalSize(columns: Int(width), rows: Int(height)))
    return 0
}
private let envTrampoline: ssh_channel_env_request_callback = { _, _, name, value, userdata in
    guard let name, let value else { return -1 }
    return (channel(userdata).onEnvRequest?(String(cString: name), String(cString: value)) ?? false) ? 0 : -1
}
private let signalTrampoline: ssh_channel_signal_callback = { _, _, name, userdata in
    if let name { channel(userdata).onSignal?(String(cString: name)) }
}
