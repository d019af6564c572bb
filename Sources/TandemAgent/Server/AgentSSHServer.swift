import Foundation
import Glibc
import LibSSH
import Synchronization
import TandemCore
import TandemText

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
        /// Seconds the broker keeps the session after a drop, and how to get back to it (nil: no way back).
        var grace = 0
        var reconnect: Reconnector?
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
            thread.name = "tandem-ssh"
            thread.start()
        }
    }

    /// How long after a return the broker has to take up each waiting channel.
    static let takeUpWithin: Duration = .seconds(30)

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
            func serve(_ fd: Int32) throws -> SSHServer {
                let server = try SSHServer(
                    fd: fd, hostKey: hostKey,
                    authorize: { _, key in key.samePublicKey(as: brokerKey) },
                    onChannel: { channel in
                        let process = ChannelProcess(channel: channel, loop: loop, scopes: scopes, report: report, view: view,
                                                     prompter: prompter, onPeople: { people.set($0) },
                                                     onEnded: { brokerReason = $0 })
                        // A channel that takes up a relay after a drop: the waiting process it names takes it.
                        process.onResume = { line, channel in
                            guard case .request(let tag, let received) = line,
                                  let waiting = processes.first(where: { $0.tag == tag && !$0.linked && !$0.handedOver }) else {
                                return .refused("no channel of that name is waiting")
                            }
                            return waiting.rebind(to: channel, brokerReceived: received)
                        }
                        processes.append(process)
                        return true
                    })
                try loop.add(server.session)
                return server
            }
            var server: SSHServer? = try serve(setup.fd)
            var droppedAt: ContinuousClock.Instant?
            var backAt: ContinuousClock.Instant?
            while !stopFlag.load(ordering: .relaxed) && brokerReason == nil {
                let healthy = loop.poll(timeoutMs: 100)
                let connected = healthy && (server?.session.isConnected ?? false)
                for p in processes { p.closeIfRequested(connected: connected) }
                if !connected, let lost = server {
                    loop.remove(lost.session)
                    server = nil
                    // Only the relays can be taken up again; the broker's notices and questions went with it.
                    for p in processes where p.tag == nil { p.terminate(); p.leaveView() }
                    // Not `isDone`: libssh counts every channel of a lost session as closed.
                    processes.removeAll { $0.tag == nil }
                    for p in processes { p.linked = false }
                    guard let reconnect = setup.reconnect, setup.grace > 0 else { break }
                    report("The connection to the support service dropped; reconnecting (the session is kept for \(SpokenDuration.of(seconds: setup.grace)))…")
                    droppedAt = .now
                    reconnect.begin()
                }
                if server == nil, let reconnect = setup.reconnect, let since = droppedAt {
                    switch reconnect.take() {
                    case .connected(let fd):
                        do {
                            server = try serve(fd)
                            droppedAt = nil
                            backAt = .now
                            report("Reconnected to the support service; the session goes on.")
                        } catch {
                            reconnect.begin()
                        }
                    case .refused(let why):
                        brokerReason = "the support service did not take the session back (\(why))"
                    case nil:
                        if ContinuousClock.now - since > .seconds(setup.grace) {
                            brokerReason = "the connection to the support service was lost and did not come back within \(SpokenDuration.of(seconds: setup.grace))"
                        }
                    }
                }
                // A process whose channel nobody took up soon after the return has nobody coming for it.
                if let since = backAt, ContinuousClock.now - since > Self.takeUpWithin {
                    backAt = nil
                    for p in processes where !p.linked { p.abandon() }
                }
                for p in processes { p.poll() }
                for p in processes where p.isDone { p.leaveView() }
                processes.removeAll { $0.isDone }
            }
            setup.reconnect?.cancel()
            for p in processes {
                p.terminate()
                p.leaveView()
            }
            let stopped = stopFlag.load(ordering: .relaxed)
            server?.session.disconnect()
            if let brokerReason { return brokerReason.isEmpty ? "the support service ended it" : brokerReason }
            return stopped ? "ended on this computer" : "the support service disconnected"
        } catch {
            for p in processes { p.terminate() }
            return "SSH failed: \(error)"
        }
    }
}
