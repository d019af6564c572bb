import Foundation
import Glibc
import LibSSH
import TandemAPI
import TandemCore

/// `tandem shell`: a raw-mode shell on the user's machine that survives this side's connection
/// dropping. The broker keeps the shell running for its `resume-grace`; this side reconnects,
/// names the shell with its secret and how much output it has, and both send the rest again.
final class ResumableShell {
    private let options: CLIOptions.Resolved
    private let id: SessionID
    /// The secret the broker will take this shell up for; a new one is named at each resume.
    private var secret = ResumableShell.freshSecret()
    /// A resume whose answer never came: the broker may hold this one instead.
    private var maybe: String?
    /// What was typed, kept to send again from where the broker stopped receiving.
    private var typed = ReplayLog(capacity: 1 << 20)
    /// Bytes of the shell's output received (the broker sends again from here).
    private var received: UInt64 = 0
    /// How long to keep trying to get back: the broker's default `resume-grace`.
    static let retryFor: Duration = .seconds(120)

    /// The connection the shell runs on now (a new one after each drop).
    private(set) var connection: BrokerConnection

    init(options: CLIOptions.Resolved, connection: BrokerConnection, session: SessionID) {
        self.options = options
        self.connection = connection
        self.id = session
    }

    /// Runs the shell to its end; returns its exit status (255 when it could not be taken up again).
    func run() throws -> Int32 {
        let mode = TerminalMode()
        mode.enterRaw()
        defer { mode.restore() }
        var request = ControlRequest.shell(id, resume: secret)
        var next: String?
        for _ in 0..<10_000 {
            let attempt = try runOnce(request, resuming: next != nil)
            switch attempt {
            case .ended(let status):
                return status
            case .accepted:
                if let next { secret = next }
                maybe = nil
                next = nil
                // The shell ran on this connection until it dropped: take it up again.
                guard let reconnected = reconnect() else { return 255 }
                connection = reconnected
            case .lostBeforeAnswer:
                // The broker may have taken the secret and be waiting with the next one.
                if let next { maybe = next }
                guard let reconnected = reconnect() else { return 255 }
                connection = reconnected
            case .refused(let why, let retry):
                if retry, let candidate = maybe {
                    secret = candidate
                    maybe = nil
                } else if !retry || !waitBeforeRetry() {
                    say("could not take the shell up again: \(why)")
                    return 255
                }
            }
            let fresh = Self.freshSecret()
            next = fresh
            request = .shellResume(id, token: secret, next: fresh, received: received)
        }
        return 255
    }

    private enum Attempt {
        case ended(Int32)
        /// It ran (or was taken up) and then the connection dropped.
        case accepted
        case lostBeforeAnswer
        /// `retry`: the broker may not have noticed the drop yet.
        case refused(String, retry: Bool)
    }

    private var firstDrop: ContinuousClock.Instant?

    private func runOnce(_ request: ControlRequest, resuming: Bool) throws -> Attempt {
        let channel: SSHChannel
        do {
            channel = try connection.session.openChannel()
        } catch {
            if resuming { return .lostBeforeAnswer }
            throw error
        }
        var header: [UInt8]? = resuming ? [] : nil
        var refusal: String?
        var errors: [UInt8] = []
        var accepted = !resuming
        var onAccept: (() -> Void)?
        let pump = ChannelPump(session: connection.session, channel: channel, forwardStdin: true, forwardResize: true, stdoutSink: { [self] bytes in
            guard var line = header else {
                received += UInt64(bytes.count)
                writeAll(1, bytes)
                return
            }
            line.append(contentsOf: bytes)
            guard let (answer, used) = try? ResumeLine.parse(line) else {
                header = line.count >= ResumeLine.maxBytes ? nil : line
                return
            }
            header = nil
            switch answer {
            case .accepted(let inputReceived):
                accepted = true
                onAccept?()
                // What the broker lacks of the typing goes first, then the output it sent again.
                for chunk in typed.since(inputReceived) ?? [] { channel.enqueue(chunk.bytes) }
                say("back in the shell")
                firstDrop = nil
                let rest = Array(line[used...])
                received += UInt64(rest.count)
                _ = rest.withUnsafeBytes { writeAll(1, $0) }
            case .refused(let why):
                refusal = why
            case .request:
                refusal = "unexpected answer"
            }
        }, stderrSink: { bytes in
            if resuming && !accepted { errors.append(contentsOf: bytes.prefix(4096 - min(4096, errors.count))) } else { writeAll(2, bytes) }
        })
        pump.stdinHeld = resuming
        pump.onInput = { [self] bytes in typed.append(bytes) }
        // Typing waits until the broker said how much of it arrived (the answer may come while the
        // request is still being sent).
        onAccept = { [weak pump] in pump?.releaseStdin() }
        let status: Int32
        do {
            try channel.requestPty(term: ProcessInfo.processInfo.environment["TERM"] ?? "xterm-256color", size: TerminalMode.currentSize())
            try channel.requestExec(request.json)
            status = try pump.run()
        } catch {
            // The link failed again while taking the shell up: one more try, as for a drop.
            if resuming { return .lostBeforeAnswer }
            throw error
        }
        if pump.lost { return accepted ? .accepted : .lostBeforeAnswer }
        if accepted { return .ended(status) }
        let text = refusal ?? String(decoding: errors, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        // "No shell is waiting" may only mean the broker has not seen this side's drop yet.
        return .refused(text.isEmpty ? "the broker closed the channel" : text, retry: text.contains("is waiting for this client"))
    }

    /// New connections until one logs in, within `retryFor` of the first drop.
    private func reconnect() -> BrokerConnection? {
        let started = firstDrop ?? .now
        firstDrop = started
        say("the connection to the broker dropped; reconnecting (the shell keeps running for up to 2 min)…")
        var wait = 0.5
        for _ in 0..<1_000 {
            if let connection = try? BrokerConnection(options) { return connection }
            guard ContinuousClock.now - started < Self.retryFor else { break }
            usleep(UInt32(wait * 1_000_000))
            wait = min(wait * 1.5, 5)
        }
        say("could not reach the broker again; the shell is lost to this terminal")
        return nil
    }

    private func waitBeforeRetry() -> Bool {
        guard let started = firstDrop, ContinuousClock.now - started < Self.retryFor else { return false }
        usleep(1_000_000)
        if let connection = try? BrokerConnection(options) { self.connection = connection }
        return true
    }

    private func say(_ text: String) { writeText("\r\ntandem: \(text)\r\n", fd: 2) }

    static func freshSecret() -> String {
        var rng = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(format: "%016llx", rng.next() as UInt64) }.joined()
    }
}
