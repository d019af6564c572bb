import Foundation
import Glibc
import LibSSH
import Synchronization
import TandemCore

/// The agent's SSH server for one approved session, on a thread of its own.
///
/// libssh blocks and is not thread-safe per session, so everything libssh
/// touches is created and used on this one thread; other threads only flip `stop`.
final class AgentSSHServer: Sendable {
    struct Setup: Sendable {
        var fd: Int32
        var hostKeyBase64: String
        var brokerPublicKey: String
        var scopes: [Scope]
        /// Show the technician's shell on the user's terminal (false with `--no-view`).
        var view = true
        /// Who is in the session, as the broker says (the status line reads it).
        var people = PeopleBoard()
    }

    private let setup: Setup
    /// Who is in the session now.
    var people: PeopleBoard { setup.people }
    private let stopFlag = Atomic<Bool>(false)
    private let report: @Sendable (String) -> Void

    init(setup: Setup, report: @escaping @Sendable (String) -> Void) {
        self.setup = setup
        self.report = report
    }

    func stop() { stopFlag.store(true, ordering: .relaxed) }

    /// Serves until the broker disconnects or `stop()`; returns why it ended.
    func run() async -> String {
        await withCheckedContinuation { continuation in
            let thread = Thread { [self] in
                continuation.resume(returning: self.serve())
            }
            thread.name = "tandem-agent-ssh"
            thread.start()
        }
    }

    private func serve() -> String {
        var processes: [ChannelProcess] = []
        var brokerReason: String?
        do {
            let hostKey = try SSHKey.fromPrivateBase64(setup.hostKeyBase64)
            let brokerKey = try SSHKey.parsePublic(line: setup.brokerPublicKey)
            let loop = try SSHEventLoop()
            let scopes = setup.scopes
            let report = self.report
            // For a person at a terminal: a log file or a pipe nobody reads gets the notices only.
            let view = setup.view && Console.isTerminal ? LiveView() : nil
            let prompter = Prompter(home: UserAccount.current().home)
            let people = setup.people
            let server = try SSHServer(
                fd: setup.fd, hostKey: hostKey,
                authorize: { _, key in key.samePublicKey(as: brokerKey) },
                onChannel: { channel in
                    processes.append(ChannelProcess(channel: channel, loop: loop, scopes: scopes, report: report, view: view,
                                                    prompter: prompter, onPeople: { people.set($0) },
                                                    onEnded: { brokerReason = $0 }))
                    return true
                })
            try loop.add(server.session)
            var turns = 0
            while !stopFlag.load(ordering: .relaxed) && brokerReason == nil {
                let healthy = loop.poll(timeoutMs: 100)
                for p in processes { p.poll() }
                for p in processes where p.isDone { p.leaveView() }
                processes.removeAll { $0.isDone }
                turns += 1
                if !healthy || !server.session.isConnected { break }
            }
            for p in processes {
                p.terminate()
                p.leaveView()
            }
            let stopped = stopFlag.load(ordering: .relaxed)
            server.session.disconnect()
            if let brokerReason { return brokerReason.isEmpty ? "the support service ended it" : brokerReason }
            return stopped ? "ended on this computer" : "the support service disconnected"
        } catch {
            for p in processes { p.terminate() }
            return "SSH failed: \(error)"
        }
    }
}
