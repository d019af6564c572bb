import CLibSSH
import Glibc

/// Waits on SSH sessions and plain file descriptors at once (libssh's `ssh_event`).
///
/// Callbacks run on the thread that calls `poll`, the same thread that owns the sessions.
public final class SSHEventLoop {
    private let raw: OpaquePointer
    private var handlers: [Int32: FDHandler] = [:]
    private var sessions: [SSHSession] = []

    public init() throws(SSHError) {
        guard let e = ssh_event_new() else { throw .call("event creation", detail: "out of memory") }
        raw = e
    }

    deinit {
        for fd in handlers.keys { ssh_event_remove_fd(raw, fd) }
        for s in sessions { ssh_event_remove_session(raw, s.raw) }
        ssh_event_free(raw)
    }

    public func add(_ session: SSHSession) throws(SSHError) {
        try check(ssh_event_add_session(raw, session.raw), "watching the connection", session.raw)
        sessions.append(session)
    }

    /// Stops watching a session (one whose connection is gone).
    public func remove(_ session: SSHSession) {
        guard let index = sessions.firstIndex(where: { $0 === session }) else { return }
        ssh_event_remove_session(raw, session.raw)
        sessions.remove(at: index)
    }

    /// Calls `readable` whenever `fd` has input or hung up; it returns false to stop watching.
    public func watch(fd: Int32, readable: @escaping () -> Bool) {
        let handler = FDHandler(fd: fd, loop: self, readable: readable)
        handlers[fd] = handler
        ssh_event_add_fd(raw, fd, Int16(POLLIN), fdTrampoline, Unmanaged.passUnretained(handler).toOpaque())
    }

    public func unwatch(fd: Int32) {
        guard handlers.removeValue(forKey: fd) != nil else { return }
        ssh_event_remove_fd(raw, fd)
    }

    /// Processes what is ready, waiting at most `timeoutMs`. False when a session failed.
    @discardableResult
    public func poll(timeoutMs: Int32) -> Bool {
        ssh_event_dopoll(raw, timeoutMs) != SSH_ERROR
    }

    fileprivate func fire(_ handler: FDHandler) {
        if !handler.readable() { unwatch(fd: handler.fd) }
    }
}

final class FDHandler {
    let fd: Int32
    unowned let loop: SSHEventLoop
    let readable: () -> Bool
    init(fd: Int32, loop: SSHEventLoop, readable: @escaping () -> Bool) {
        self.fd = fd
        self.loop = loop
        self.readable = readable
    }
}

private let fdTrampoline: ssh_event_callback = { _, _, userdata in
    let handler = Unmanaged<FDHandler>.fromOpaque(userdata!).takeUnretainedValue()
    handler.loop.fire(handler)
    return 0
}
