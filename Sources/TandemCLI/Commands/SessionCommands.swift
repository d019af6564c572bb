import ArgumentParser
import Foundation
import LibSSH
import TandemAPI
import TandemCore
import TandemText

extension TandemCommand {
    struct SessionCommand: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "session", abstract: "Start and end sessions.",
                                                        subcommands: [New.self, End.self])

        struct New: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Ask an end-user for a session; opens a shell once they approve.",
                discussion: """
                    Example: tandem session new --ticket 1042 --scope shell
                    --ticket takes the broker's own ticket number, or a helpdesk ticket: rt:1042
                    (Request Tracker) or redmine:77 (Redmine); the broker checks that it exists and
                    is open before it issues a code. (When the broker's operator set a default
                    helpdesk, a bare number means that helpdesk's ticket.)
                    Read the 9-digit code to the user; they run 'tandem-agent CODE' and answer y.
                    Exit status: 0 approved, 4 refused, 5 code expired.
                    """)
            @OptionGroup var options: CLIOptions
            @Option(help: "The ticket this work belongs to: 42, rt:1042 or redmine:77.") var ticket: String
            @Option(help: "What the user is asked to allow: shell, files, or shell,files.") var scope = "shell"
            @Option(help: "Longest the session may last, in seconds.") var timeLimit: Int?
            @Option(help: "Seconds without input or output before the session ends (the broker warns both sides first). (default: the broker's idle-limit)")
            var idleLimit: Int?
            @Flag(help: "Do not open a shell after approval; print the session id and exit.") var noShell = false

            func validate() throws {
                _ = try Scope.parseList(scope)
                guard TicketReference(ticket) != nil else { throw ValidationError("--ticket takes \(TicketReference.forms)") }
            }

            func run() throws {
                guard let reference = TicketReference(ticket) else { throw ValidationError("--ticket takes \(TicketReference.forms)") }
                let connection = try BrokerConnection(try options.resolve())
                let channel = try connection.session.openChannel()
                var sessionID: String?
                var lines = LineBuffer()
                var errors = LineBuffer()
                let pump = ChannelPump(session: connection.session, channel: channel, forwardStdin: false, stdoutSink: { bytes in
                    lines.add(bytes) { sessionID = PairingProgress.show($0) ?? sessionID }
                }, stderrSink: { bytes in errors.add(bytes, RemoteCall.showError) })
                try channel.requestExec(ControlRequest.sessionNew(ticket: reference, scopes: try Scope.parseList(scope), timeLimit: timeLimit,
                                                                  idleLimit: idleLimit).json)
                let status = try pump.run()
                errors.finish(RemoteCall.showError)
                guard status == 0, let sessionID else { throw ExitCode(status) }
                guard !noShell, TerminalMode.isInteractive else {
                    writeText("Attach with: tandem shell \(sessionID)   or   tandem exec \(sessionID) -- COMMAND\n")
                    return
                }
                let shell = ResumableShell(options: try options.resolve(), connection: connection, session: SessionID(rawValue: sessionID))
                let shellStatus = try shell.run()
                let last = shell.connection
                let end = try last.session.openChannel()
                let endPump = ChannelPump(session: last.session, channel: end, forwardStdin: false, stdoutSink: { _ in })
                try end.requestExec(ControlRequest.sessionEnd(SessionID(rawValue: sessionID)).json)
                _ = try endPump.run()
                throw ExitCode(shellStatus)
            }
        }

        struct End: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "End a session now.")
            @OptionGroup var options: CLIOptions
            @Argument(help: "The session id.") var session: String
            func validate() throws { _ = try SessionID.parse(session) }
            func run() throws {
                let ended = try RemoteCall(options: options, request: .sessionEnd(try SessionID.parse(session))).one(SessionEnded.self)
                writeText(ended.alreadyOver ? "Session \(session) is already over (\(TerminalText.escape(ended.reason))).\n" : "Session \(session) ended.\n")
            }
        }
    }

    struct Shell: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Open an interactive shell in an active session.",
                                                        discussion: "Example: tandem shell s-7f3a9c2e")
        @OptionGroup var options: CLIOptions
        @Argument(help: "The session id.") var session: String
        func validate() throws { _ = try SessionID.parse(session) }
        func run() throws {
            let resolved = try options.resolve()
            let shell = ResumableShell(options: resolved, connection: try BrokerConnection(resolved), session: try SessionID.parse(session))
            throw ExitCode(try shell.run())
        }
    }
}

extension TandemCommand {
    struct Join: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Watch, or type in, another technician's session once its end-user agrees.",
            discussion: """
                The end-user is asked first ("bob from your support team wants to watch this session.
                Allow? [y/N]") and sees that you are there for as long as you stay; the session's
                technician is told too. Every join and leave is on the ticket.
                  tandem join s-7f3a9c2e           watch, read-only (the default)
                  tandem join s-7f3a9c2e --pair    watch and type in the shell
                Ctrl-] leaves (and Ctrl-C, when only watching). Auditors may watch when the broker's
                live-watch policy allows it; the end-user is told.
                """)
        @OptionGroup var options: CLIOptions
        @Argument(help: "The session id.") var session: String
        @Flag(help: "Watch only: nothing you type reaches the shell (the default).") var observe = false
        @Flag(help: "Also type in the shell, after the end-user agrees.") var pair = false
        func validate() throws {
            _ = try SessionID.parse(session)
            if observe && pair { throw ValidationError("choose one of --observe and --pair") }
        }
        func run() throws {
            let connection = try BrokerConnection(try options.resolve())
            throw ExitCode(try openShell(connection.session, request: .join(try SessionID.parse(session), pair: pair)))
        }
    }
}

/// A raw-mode shell on the agent; returns the shell's exit status.
/// A raw-mode terminal on `request` (a shell, or a joined one); returns its exit status.
func openShell(_ session: SSHSession, request: ControlRequest) throws -> Int32 {
    let channel = try session.openChannel()
    let term = ProcessInfo.processInfo.environment["TERM"] ?? "xterm-256color"
    let pump = ChannelPump(session: session, channel: channel, forwardStdin: true, forwardResize: true)
    try channel.requestPty(term: term, size: TerminalMode.currentSize())
    try channel.requestExec(request.json)
    let mode = TerminalMode()
    mode.enterRaw()
    defer { mode.restore() }
    return try pump.run()
}

/// Turns the broker's pairing events into words for the technician.
enum PairingProgress {
    /// Prints one event; returns the session id when the line names one.
    static func show(_ line: String) -> String? {
        guard let event = try? JSONDecoder().decode(PairingUpdate.self, from: Data(line.utf8)),
              let id = try? SessionID.parse(event.session) else {
            writeText(TerminalText.escape(line) + "\n")
            return nil
        }
        switch event.type {
        case "code":
            let code = (try? SessionCode.parse(event.code ?? ""))?.grouped ?? TerminalText.escape(event.code ?? "?")
            let minutes = max(1, (event.expiresIn ?? 600) / 60)
            writeText("Session \(id) created.\nRead this code to the user: \(code)\n(valid \(minutes) minutes, once). Waiting for them to approve…\n")
        case "approved": writeText("The user approved. Session \(id) is active.\n")
        case "refused": writeText("The user refused the session. Nothing ran on their machine.\n", fd: 2)
        case "expired": writeText("The code expired before the user joined. Start a new session.\n", fd: 2)
        case "ended": writeText("The session ended: \(TerminalText.escape(event.reason ?? "unknown reason")).\n", fd: 2)
        default: writeText(TerminalText.escape(line) + "\n")
        }
        return id.rawValue
    }
}
