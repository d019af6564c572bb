import CPTY
import Foundation
import Glibc
import LibSSH
import TandemCore

/// Moves bytes between this process's stdio and one SSH channel until it closes.
///
/// Create it before sending the request: libssh may deliver the reply's first
/// bytes while the request is still being answered.
final class ChannelPump {
    let session: SSHSession
    let channel: SSHChannel
    /// Forward our stdin to the channel (off for commands that read nothing).
    var forwardStdin: Bool
    /// Forward terminal resizes (interactive shells).
    var forwardResize: Bool
    private var closed = false
    private var status: Int32?
    /// Each chunk of stdin as it is queued for the channel (a shell keeps it for a resume).
    var onInput: ((UnsafeRawBufferPointer) -> Void)?
    /// Stdin is not read until `releaseStdin()` (a resumed shell first hears what arrived).
    var stdinHeld = false
    /// The connection went (not the channel): the run ended without the remote's end.
    private(set) var lost = false

    func releaseStdin() { stdinHeld = false }

    /// `stdoutSink` receives stdout bytes instead of fd 1, `stderrSink` stderr bytes instead of fd 2.
    init(session: SSHSession, channel: SSHChannel, forwardStdin: Bool = true, forwardResize: Bool = false,
         stdoutSink: ((UnsafeRawBufferPointer) -> Void)? = nil, stderrSink: ((UnsafeRawBufferPointer) -> Void)? = nil) {
        self.session = session
        self.channel = channel
        self.forwardStdin = forwardStdin
        self.forwardResize = forwardResize
        channel.onData = { bytes, isStderr in
            if !isStderr, let sink = stdoutSink { sink(bytes); return }
            if isStderr, let sink = stderrSink { sink(bytes); return }
            writeAll(isStderr ? 2 : 1, bytes)
        }
        channel.onExitStatus = { [weak self] in self?.status = $0 }
        channel.onClose = { [weak self] in self?.closed = true }
    }

    /// Returns the remote exit status (255 when the connection dropped without one).
    func run() throws -> Int32 {
        let loop = try SSHEventLoop()
        try loop.add(session)
        let channel = self.channel
        // Stdin is queued and sent as the window allows; reading pauses while much is queued.
        var stdinState = StdinState.open
        var buffer = [UInt8](repeating: 0, count: 32 * 1024)
        func watchStdin() {
            loop.watch(fd: 0) {
                let n = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
                if n > 0 {
                    buffer.withUnsafeBytes {
                        let chunk = UnsafeRawBufferPointer(rebasing: $0[0..<n])
                        self.onInput?(chunk)
                        channel.enqueue(chunk)
                    }
                    if channel.pendingBytes > 1 << 20 {
                        stdinState = .paused
                        return false
                    }
                    return true
                }
                if n < 0 && errno == EINTR { return true }
                stdinState = .ended
                return false
            }
        }
        var stdinWatched = false
        if forwardStdin && !stdinHeld {
            watchStdin()
            stdinWatched = true
        }
        if forwardResize {
            let winch = tandem_signal_pipe(SIGWINCH)
            loop.watch(fd: winch) {
                var drain = [UInt8](repeating: 0, count: 64)
                _ = read(winch, &drain, drain.count)
                channel.changePtySize(TerminalMode.currentSize())
                return true
            }
        }
        var idleTurns = 0
        while !closed {
            if !loop.poll(timeoutMs: 200) || !session.isConnected {
                // libssh counts the channels of a lost session as closed: no exit status and no
                // close from the remote is what tells a drop from an end.
                lost = !closed && status == nil
                break
            }
            if forwardStdin && !stdinHeld && !stdinWatched {
                watchStdin()
                stdinWatched = true
            }
            if channel.flush() {
                switch stdinState {
                case .paused: stdinState = .open; watchStdin()
                case .ended: stdinState = .eofSent; channel.sendEOF()
                default: break
                }
            }
            if channel.isClosed { closed = true }
            // An EOF'd channel whose close never comes is given a few seconds.
            if channel.isEOF { idleTurns += 1; if idleTurns > 50 { break } }
        }
        loop.unwatch(fd: 0)
        return status ?? channel.exitStatus ?? 255
    }
}

private enum StdinState { case open, paused, ended, eofSent }

func writeText(_ text: String, fd: Int32 = 1) {
    var t = text
    t.withUTF8 { _ = writeAll(fd, UnsafeRawBufferPointer($0)) }
}
