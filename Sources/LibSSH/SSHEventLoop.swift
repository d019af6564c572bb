import CLibSSH
import Glibc

/// Waits on SSH sessions and plain file descriptors at once (libssh's `ssh_event`).
///
/// Callbacks run on the thread that calls `poll`, the same thread that owns the sessions.
/// File descriptors are added to and removed from libssh's list only between polls: libssh walks
/// that list while it calls the callbacks (and again in the polls nested inside a channel's flush
/// or close), and changing it under the walk frees entries the walk still reads.
public final class SSHEventLoop {
    private let raw: OpaquePointer
    /// Watched descriptors, including those not yet handed to libssh.
    private var handlers: [Int32: FDHandler] = [:]
    private var pendingAdds: [FDHandler] = []
    private var pendingRemovals: [Int32] = []
    /// Unwatched handlers kept alive until libssh has let go of them.
    private var retired: [FDHandler] = []
    private var sessions: [SSHSession] = []

    public init() throws(SSHError) {
        guard let e = ssh_event_new() else { throw .call("event creation", detail: "out of memory") }
        raw = e
    }

    deinit {
        for fd in pendingRemovals { ssh_event_remove_fd(raw, fd) }
        for (fd, handler) in handlers where !pendingAdds.contains(where: { $0 === handler }) { ssh_event_remove_fd(raw, fd) }
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
    /// Takes effect at the next poll.
    public func watch(fd: Int32, readable: @escaping () -> Bool) {
        unwatch(fd: fd)
        let handler = FDHandler(fd: fd, loop: self, readable: readable)
        handlers[fd] = handler
        pendingAdds.append(handler)
    }

    /// Stops calling the descriptor's handler at once; libssh lets go of it at the next poll.
    public func unwatch(fd: Int32) {
        guard let handler = handlers.removeValue(forKey: fd) else { return }
        handler.retired = true
        if let index = pendingAdds.firstIndex(where: { $0 === handler }) {
            pendingAdds.remove(at: index)
        } else {
            pendingRemovals.append(fd)
            retired.append(handler)
        }
    }

    /// Processes what is ready, waiting at most `timeoutMs`. False when a session failed.
    @discardableResult
    public func poll(timeoutMs: Int32) -> Bool {
        applyChanges()
        let ok = ssh_event_dopoll(raw, timeoutMs) != SSH_ERROR
        applyChanges()
        return ok
    }

    /// Hands libssh the descriptors watched and unwatched since the last poll (never during one).
    private func applyChanges() {
        // Removals first: a descriptor number closed and reused since is added back after.
        for fd in pendingRemovals { ssh_event_remove_fd(raw, fd) }
        pendingRemovals.removeAll()
        retired.removeAll()
        for handler in pendingAdds {
            ssh_event_add_fd(raw, handler.fd, Int16(POLLIN), fdTrampoline, Unmanaged.passUnretained(handler).toOpaque())
        }
        pendingAdds.removeAll()
    }

    fileprivate func fire(_ handler: FDHandler) {
        guard !handler.retired else { return }
        if !handler.readable() { unwatch(fd: handler.fd) }
    }
}

final class FDHandler {
    let fd: Int32
    let readable: () -> Bool
    /// Unwatched: libssh may still call it until the next poll, and nothing happens.
    var retired = false
    unowned let loop: SSHEventLoop
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
