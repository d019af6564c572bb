import CPTY
import Foundation
import Glibc
import LibSSH
import TandemCore
import TandemText

/// The process behind one SSH channel on the user's machine: a login shell or one command.
///
/// Lives on the agent's SSH thread. Output fds are watched by the event loop; when
/// output has ended and the process exited, the exit status goes back and the channel closes.
final class ChannelProcess {
    /// Must match the broker's `AgentLink.endNoticeSubsystem`.
    static let endNoticeSubsystem = "tandem-end@tandem"
    /// Must match the broker's `AgentLink.noticeSubsystem`: a notice shown while the session goes on.
    static let noticeSubsystem = "tandem-notice@tandem"
    /// The SSH channel it is bound to now: after a dropped connection, a new one (`rebind`).
    private(set) var channel: SSHChannel
    private let loop: SSHEventLoop
    private let scopes: [Scope]
    private let report: (String) -> Void
    private var term = "xterm-256color"
    private var size = TerminalSize(columns: 80, rows: 24)
    private var wantsPty = false
    private var pid: pid_t = -1
    private var ptyMaster: Int32 = -1
    private var stdinWrite: Int32 = -1
    private var openOutputs = 0
    private var exitStatus: Int32?
    private(set) var finished = false
    private var sftp: SFTPServer?
    /// This channel carries a notice to show (the idle warning), not the session's end.
    private var noticeOnly = false
    private let view: LiveView?
    /// This channel's shell on the end-user's screen, while it is.
    private var screen: ShellScreen?
    private var paused: [(fd: Int32, stderr: Bool)] = []
    private var inbox: [UInt8] = []
    private var eofPending = false
    /// The broker's reason for ending the session, while its end notice arrives.
    private var endNotice: [UInt8]?
    private let onEnded: (String) -> Void
    /// Asks the end-user the broker's questions (nil: questions are answered no).
    private let prompter: Prompter?
    /// The broker's list of who is in the session, while it arrives.
    private var peopleList: [UInt8]?
    private let onPeople: (SessionPeople) -> Void
    /// A question from the broker, while it arrives; then where its answer waits.
    private var question: [UInt8]?
    private var answer: AnswerSlot?
    private var prompt: PromptTicket?
    /// The broker's name for this relayed channel (`TANDEM_CHANNEL`), to take it up after a drop.
    private(set) var tag: Int?
    /// What was sent to the technician, kept to send again from where the broker stopped receiving.
    var output = ReplayLog(capacity: ChannelProcess.replayBytes)
    /// Bytes of the technician's input received, which the broker sends again from after a drop.
    var inputReceived: UInt64 = 0
    /// False while the connection to the broker is gone: the process runs on, nothing is sent.
    var linked = true
    private var closeRequested = false
    /// A channel opened to take up another process's relay: what it asks, while it arrives.
    var resumeRequest: [UInt8]?
    /// Finds the process a resume channel names (set by the server).
    var onResume: ((ResumeLine, SSHChannel) -> ResumeLine)?
    /// This channel now belongs to another process: nothing of it is this one's.
    var handedOver = false

    static let channelTagVariable = "TANDEM_CHANNEL"
    /// Output kept per relayed channel for a resume (the SSH window and the sockets hold less).
    static let replayBytes = 8 << 20

    /// `onEnded` receives the broker's reason when it ends the session.
    /// `view` shows a shell's screen to the end-user (nil with `--no-view`).
    init(channel: SSHChannel, loop: SSHEventLoop, scopes: [Scope], report: @escaping (String) -> Void,
         view: LiveView? = nil, prompter: Prompter? = nil, onPeople: @escaping (SessionPeople) -> Void = { _ in },
         onEnded: @escaping (String) -> Void = { _ in }) {
        self.view = view
        self.onPeople = onPeople
        self.prompter = prompter
        self.channel = channel
        self.loop = loop
        self.scopes = scopes
        self.report = report
        self.onEnded = onEnded
        install(on: channel)
    }

    /// Routes what the broker asks of `channel` to this process.
    private func install(on channel: SSHChannel) {
        channel.onPtyRequest = { [weak self] term, size in
            guard let self, self.scopes.contains(.shell), self.pid < 0 else { return false }
            self.term = String(term.prefix(64))
            self.size = size
            self.wantsPty = true
            return true
        }
        channel.onShellRequest = { [weak self] in
            guard let self, self.scopes.contains(.shell), self.pid < 0 else { return false }
            self.report("The technician opened a shell.")
            return self.start(command: nil)
        }
        channel.onExecRequest = { [weak self] command in
            guard let self, self.pid < 0 else { return false }
            // "Copy files" covers rsync's server side, read as strictly here as at the broker.
            let rsync = RsyncServerLine.isTransfer(command)
            guard self.scopes.contains(.shell) || (rsync && self.scopes.contains(.files)) else { return false }
            self.report(rsync ? "The technician copied files with rsync: \(TerminalText.field(command, limit: 300))"
                              : "The technician ran: \(TerminalText.field(command, limit: 300))")
            return self.start(command: command)
        }
        channel.onSubsystemRequest = { [weak self] name in
            guard let self else { return false }
            // Only the broker opens channels here (it relays no technician request by this name).
            if name == ChannelProcess.endNoticeSubsystem, self.pid < 0, self.sftp == nil {
                self.endNotice = []
                return true
            }
            if name == ChannelProcess.noticeSubsystem, self.pid < 0, self.sftp == nil, self.endNotice == nil {
                self.endNotice = []
                self.noticeOnly = true
                return true
            }
            if name == ResumeLine.subsystem, self.pid < 0, self.sftp == nil, self.tag == nil, self.endNotice == nil,
               self.question == nil, self.peopleList == nil, self.resumeRequest == nil {
                self.resumeRequest = []
                return true
            }
            if name == SessionPeople.subsystem, self.pid < 0, self.sftp == nil, self.endNotice == nil, self.question == nil {
                self.peopleList = []
                return true
            }
            if name == ConsentQuestion.subsystem, self.pid < 0, self.sftp == nil, self.endNotice == nil, self.peopleList == nil,
               self.question == nil {
                self.question = []
                return true
            }
            guard name == "sftp", self.scopes.allowsFiles, self.pid < 0, self.sftp == nil else {
                self.report("Refused a request for '\(TerminalText.field(name, limit: 40))' (not allowed in this session).")
                return false
            }
            self.sftp = SFTPServer(home: UserAccount.current().home, reply: { [weak self] bytes in
                self?.emit(bytes)
            }, report: self.report)
            return true
        }
        channel.onWindowChange = { [weak self] size in
            guard let self else { return }
            self.size = size
            if self.ptyMaster >= 0 { _ = tandem_pty_resize(self.ptyMaster, UInt16(clamping: size.rows), UInt16(clamping: size.columns)) }
        }
        channel.onData = { [weak self] bytes, isStderr in
            // Input is channel data: extended data from the broker's side is nobody's input.
            guard let self, !isStderr else { return }
            if var list = self.peopleList {
                list.append(contentsOf: bytes.prefix(max(0, SessionPeople.maxBytes + 1 - list.count)))
                self.peopleList = list
                return
            }
            if var request = self.resumeRequest {
                request.append(contentsOf: bytes)
                self.resumeRequest = request
                return self.takeUpIfAsked()
            }
            if var question = self.question {
                // One byte past the limit is enough to refuse it.
                question.append(contentsOf: bytes.prefix(max(0, ConsentQuestion.maxBytes + 1 - question.count)))
                self.question = question
                return
            }
            if var notice = self.endNotice {
                notice.append(contentsOf: bytes.prefix(max(0, 512 - notice.count)))
                self.endNotice = notice
                return
            }
            if self.tag != nil { self.inputReceived += UInt64(bytes.count) }
            if let sftp = self.sftp {
                if !sftp.receive(bytes) { return self.endSFTP(status: 1) }
                // Replies pile up faster than the technician reads them: stop taking requests.
                if self.channel.pendingBytes > Self.outputHighWater * 8 { self.channel.inputPaused = true }
            } else {
                self.writeInput(bytes)
            }
        }
        channel.onEOF = { [weak self] in
            guard let self else { return }
            if let question = self.question, self.answer == nil {
                return self.ask(question)
            }
            if let list = self.peopleList {
                self.peopleList = nil
                if let people = try? SessionPeople.decode(list) { self.onPeople(people) }
                return self.channel.close()
            }
            if let notice = self.endNotice {
                self.endNotice = nil
                let text = String(decoding: notice, as: UTF8.self)
                if self.noticeOnly { self.report(TerminalText.field(text, limit: 300)) } else { self.onEnded(text) }
                return self.channel.close()
            }
            if self.sftp != nil { return self.endSFTP(status: 0) }
            // Input still queued goes first; the process sees EOF after it.
            self.eofPending = true
            self.closeStdinIfDone()
        }
        channel.onSignal = { [weak self] name in
            guard let self else { return }
            let map: [String: Int32] = ["INT": SIGINT, "TERM": SIGTERM, "HUP": SIGHUP, "KILL": SIGKILL, "QUIT": SIGQUIT]
            if self.pid > 0, let sig = map[name] { kill(-self.pid, sig) }
        }
        channel.onEnvRequest = { [weak self] name, value in
            // The broker names each relayed channel, so it can be taken up again after a drop.
            guard let self, name == ChannelProcess.channelTagVariable, self.tag == nil, self.pid < 0, self.sftp == nil,
                  let tag = Int(value), tag >= 0 else { return false }
            self.tag = tag
            return true
        }
        channel.onClose = { [weak self] in
            // Acted on after the loop's turn: a close that comes with a lost connection is not the broker's.
            self?.closeRequested = true
        }
    }

    /// The end was sent on a channel that is gone: `poll` sends it again once the output is out.
    func reopenEnd() {
        if exitStatus != nil, sftp == nil { finished = false }
    }

    /// Takes `newChannel` in place of the one lost with the connection.
    func rebindChannel(_ newChannel: SSHChannel) {
        channel = newChannel
        install(on: newChannel)
        linked = true
        closeRequested = false
    }

    /// The broker closed the channel (not a dropped connection): the process ends.
    func closeIfRequested(connected: Bool) {
        guard closeRequested else { return }
        closeRequested = false
        guard connected else { return }
        sftp?.shutdown()
        terminate()
    }

    /// Shows the broker's question to the user; the answer goes back from `poll`.
    private func ask(_ bytes: [UInt8]) {
        let slot = AnswerSlot()
        answer = slot
        do {
            let question = try ConsentQuestion.decode(bytes)
            guard let prompter else { return slot.put(.no) }
            prompt = prompter.ask(question) { slot.put($0) }
        } catch {
            report("Ignored a question from the support service that this agent cannot read (\(error)); it counts as no.")
            slot.put(.noAnswer)
        }
    }

    /// The user answered: the answer goes back, and the question's channel closes.
    private func sendAnswer() {
        guard let slot = answer, !finished, let value = slot.take() else { return }
        finished = true
        channel.enqueue(Array(value.rawValue.utf8))
        channel.flush()
        channel.sendEOF()
        channel.close()
    }

    private func start(command: String?) -> Bool {
        let account = UserAccount.current()
        var env = ["HOME=\(account.home)", "USER=\(account.name)", "LOGNAME=\(account.name)", "SHELL=\(account.shell)",
                   "PATH=\(ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin")",
                   "TANDEM_SESSION=1"]
        if let lang = ProcessInfo.processInfo.environment["LANG"] { env.append("LANG=\(lang)") }
        let argv: [String]
        if let command {
            argv = [account.shell, "-c", command]
        } else {
            argv = ["-" + (account.shell as NSString).lastPathComponent]
        }
        if wantsPty { env.append("TERM=\(term)") }
        let spawned: Bool = withCStrings(argv) { cargv in
            withCStrings(env) { cenv in
                if wantsPty {
                    var master: Int32 = -1
                    pid = tandem_spawn_pty(account.shell, cargv, cenv, account.home,
                                           UInt16(clamping: size.rows), UInt16(clamping: size.columns), &master)
                    guard pid > 0 else { return false }
                    ptyMaster = master
                    if command == nil, let view { screen = view.shellOpened() }
                    _ = fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK)
                    watch(master, stderr: false)
                    return true
                }
                var inPipe: [Int32] = [0, 0], outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
                guard makePipe(&inPipe), makePipe(&outPipe), makePipe(&errPipe) else { return false }
                pid = tandem_spawn_pipes(account.shell, cargv, cenv, account.home, inPipe[0], outPipe[1], errPipe[1])
                Glibc.close(inPipe[0]); Glibc.close(outPipe[1]); Glibc.close(errPipe[1])
                guard pid > 0 else { return false }
                stdinWrite = inPipe[1]
                _ = fcntl(stdinWrite, F_SETFL, fcntl(stdinWrite, F_GETFL) | O_NONBLOCK)
                watch(outPipe[0], stderr: false)
                watch(errPipe[0], stderr: true)
                return true
            }
        }
        return spawned
    }

    /// Most output queued for the technician before the process's output is paused.
    static let outputHighWater = 1 << 20

    private func watch(_ fd: Int32, stderr: Bool) {
        openOutputs += 1
        resume(fd, stderr: stderr)
    }

    private func resume(_ fd: Int32, stderr: Bool) {
        var buffer = [UInt8](repeating: 0, count: 32 * 1024)
        loop.watch(fd: fd) { [weak self] in
            guard let self else { return false }
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                buffer.withUnsafeBytes {
                    let bytes = UnsafeRawBufferPointer(rebasing: $0[0..<n])
                    self.emit(bytes, stderr: stderr)
                    if fd == self.ptyMaster { self.screen?.show(bytes) }
                }
                if self.channel.pendingBytes > Self.outputHighWater {
                    // The technician reads slower than the process writes: stop reading until it drains.
                    self.paused.append((fd, stderr))
                    return false
                }
                return true
            }
            if n < 0 && (errno == EINTR || errno == EAGAIN) { return true }
            // EOF, or EIO on a pty whose last writer is gone.
            if fd != self.ptyMaster { Glibc.close(fd) }
            self.openOutputs -= 1
            return false
        }
    }

    /// Writes the technician's input without ever blocking the agent's loop: what the process
    /// does not take now waits in `inbox`, and the channel is paused until it drains.
    private func writeInput(_ bytes: UnsafeRawBufferPointer) {
        let fd = ptyMaster >= 0 ? ptyMaster : stdinWrite
        guard fd >= 0, bytes.count > 0 else { return }
        if !inbox.isEmpty {
            inbox.append(contentsOf: bytes)
        } else {
            let n = write(fd, bytes.baseAddress, bytes.count)
            if n < 0 && errno != EAGAIN && errno != EINTR {
                return dropInput()
            }
            let written = max(0, n)
            if written < bytes.count { inbox.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[written...])) }
        }
        if !inbox.isEmpty { channel.inputPaused = true }
    }

    /// Called each turn: moves queued input on, then takes what libssh held back meanwhile.
    private func pumpInput() {
        let fd = ptyMaster >= 0 ? ptyMaster : stdinWrite
        if !inbox.isEmpty, fd >= 0 {
            let n = inbox.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n > 0 { inbox.removeFirst(n) } else if n < 0 && errno != EAGAIN && errno != EINTR { dropInput() }
        }
        // Not while the broker is away: the channel belongs to a session that is gone.
        if linked && !finished && inbox.isEmpty && channel.inputPaused && (sftp == nil || channel.pendingBytes < Self.outputHighWater) {
            channel.inputPaused = false
            channel.deliverBufferedInput()
        }
        closeStdinIfDone()
    }

    /// The process stopped reading for good (its stdin is closed): input has nowhere to go.
    private func dropInput() {
        inbox.removeAll()
        if !finished { channel.inputPaused = false }
    }

    private func closeStdinIfDone() {
        guard eofPending, inbox.isEmpty, stdinWrite >= 0 else { return }
        Glibc.close(stdinWrite)
        stdinWrite = -1
    }

    /// As sshd does when its sftp-server exits: scp (over SFTP) reads ssh's exit status.
    private func endSFTP(status: Int32) {
        sftp?.shutdown()
        sftp = nil
        finished = true
        channel.flush()
        channel.sendExitStatus(status)
        channel.sendEOF()
        channel.close()
    }

    /// Called each loop turn: sends queued output, resumes paused output, and once output
    /// ended and the process exited, sends the exit status.
    func poll() {
        sendAnswer()
        pumpInput()
        // Without the broker the process runs on; its output waits (up to the high-water mark).
        guard linked else { return }
        let drained = channel.flush()
        if drained && !paused.isEmpty {
            let resumed = paused
            paused = []
            for (fd, stderr) in resumed { resume(fd, stderr: stderr) }
        }
        guard !finished, pid > 0 else { return }
        if exitStatus == nil {
            var status: Int32 = 0
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid {
                exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
            }
        }
        guard let exitStatus, openOutputs == 0, drained else { return }
        finished = true
        if ptyMaster >= 0 { Glibc.close(ptyMaster); ptyMaster = -1 }
        if stdinWrite >= 0 { Glibc.close(stdinWrite); stdinWrite = -1 }
        channel.sendExitStatus(exitStatus)
        channel.sendEOF()
        channel.close()
    }

    /// Ends the process group (the session is over or the channel closed).
    func terminate() {
        prompt?.cancel()
        guard pid > 0, exitStatus == nil else { return }
        kill(-pid, SIGHUP)
        kill(pid, SIGHUP)
    }

    var isDone: Bool {
        if handedOver { return true }
        guard linked else { return false }
        return (finished && channel.pendingBytes == 0) || channel.isClosed
    }

    /// The shell is over or its channel gone: off the end-user's screen (once).
    func leaveView() {
        guard screen != nil else { return }
        screen = nil
        view?.shellClosed()
    }
}

/// Who the agent runs as: the end-user, in their home directory.
struct UserAccount {
    var name: String
    var home: String
    var shell: String

    static func current() -> UserAccount {
        guard let pw = getpwuid(getuid()) else { return UserAccount(name: "user", home: "/", shell: "/bin/sh") }
        let shell = String(cString: pw.pointee.pw_shell)
        return UserAccount(name: String(cString: pw.pointee.pw_name), home: String(cString: pw.pointee.pw_dir),
                           shell: shell.isEmpty || !FileManager.default.isExecutableFile(atPath: shell) ? "/bin/sh" : shell)
    }
}

/// Gives C a NULL-terminated `char *[]` for the duration of `body`.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { pointers.forEach { free($0) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// A pipe whose ends do not leak into other children (dup2 in the child clears the flag).
private func makePipe(_ fds: inout [Int32]) -> Bool {
    guard pipe(&fds) == 0 else { return false }
    _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
    _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
    return true
}
