import CPTY
import Foundation
import Glibc
import Synchronization
import TandemCore
import TandemText

/// Runs an approved session: shows who is connected, ends it on Ctrl-C or at the time limit.
struct SessionMonitor: Sendable {
    let offer: Offer
    let server: AgentSSHServer

    func run() async -> Int32 {
        let finished = Atomic<Bool>(false)
        let reason = Mutex<String?>(nil)
        let signals = tandem_signal_pipe(SIGINT)
        _ = tandem_signal_pipe(SIGTERM)
        _ = tandem_signal_pipe(SIGHUP)
        let server = self.server
        Thread {
            var pfd = pollfd(fd: signals, events: Int16(POLLIN), revents: 0)
            while !finished.load(ordering: .relaxed) {
                if poll(&pfd, 1, 250) > 0 {
                    reason.withLock { $0 = $0 ?? "you ended it" }
                    server.stop()
                    return
                }
            }
        }.start()

        Console.say("Session \(TerminalText.field(offer.sessionID, limit: 32)) is open. Press Ctrl-C to end it.")
        let started = Date()
        let limit = TimeInterval(offer.timeLimitSeconds)
        let ticker = Task {
            while !Task.isCancelled {
                let elapsed = Date().timeIntervalSince(started)
                if elapsed >= limit {
                    reason.withLock { $0 = $0 ?? "the time limit was reached" }
                    server.stop()
                    return
                }
                let t = Int(elapsed)
                let left = max(0, Int(limit - elapsed))
                Console.status(String(format: "● %@ · ticket #%d · %02d:%02d:%02d used, %02d:%02d:%02d left · Ctrl-C to end",
                                      server.people.connected(technician: OfferText.who(offer)), offer.ticketID, t / 3600, t / 60 % 60, t % 60,
                                      left / 3600, left / 60 % 60, left % 60))
                try? await Task.sleep(for: .seconds(1))
            }
        }
        let serverReason = await server.run()
        finished.store(true, ordering: .relaxed)
        ticker.cancel()
        let why = reason.withLock { $0 } ?? serverReason
        // What the user typed during the session was read by no one: it must not run in their
        // own shell once the agent exits.
        if isatty(0) == 1 { tcflush(0, TCIFLUSH) }
        Console.say("Session \(TerminalText.field(offer.sessionID, limit: 32)) ended: \(TerminalText.escape(why)).")
        return 0
    }
}
