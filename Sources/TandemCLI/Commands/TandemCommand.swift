import ArgumentParser
import Foundation
import LibSSH
import TandemCore

/// `tandem`: the technician's and auditor's command line.
public struct TandemCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "tandem",
        abstract: "Reach an end-user's machine through the Tandem broker, with their consent.",
        discussion: """
            A typical fix:
              tandem ticket new "Printer offline" --requester jane
              tandem session new --ticket 1 --scope shell      # read the code to the user
              tandem exec s-7f3a9c2e -- lpstat -p               # or work in the shell it opens
            Broker, CA, key and fingerprint come from ~/.config/tandem/tandem.conf:
              broker = broker.example.com:8443
              ca = /etc/tandem/ca.crt
              fingerprint = SHA256:…   (from 'tandemd info')
            """,
        version: TandemVersion.current,
        subcommands: [Ticket.self, SessionCommand.self, Shell.self, Exec.self, Put.self, Get.self, Ls.self, Audit.self])

    public init() {}
}

/// Runs one broker command on a fresh connection and returns its exit status.
func runRemote(_ options: CLIOptions, _ line: String, forwardStdin: Bool = false,
               stdoutSink: ((UnsafeRawBufferPointer) -> Void)? = nil) throws -> Int32 {
    let connection = try BrokerConnection(try options.resolve())
    let channel = try connection.session.openChannel()
    let pump = ChannelPump(session: connection.session, channel: channel, forwardStdin: forwardStdin, stdoutSink: stdoutSink)
    try channel.requestExec(line)
    return try pump.run()
}

/// Quotes one argument for a POSIX shell.
func shellQuote(_ word: String) -> String {
    if !word.isEmpty, word.allSatisfy({ $0.isLetter || $0.isNumber || "-_./=:,@%+".contains($0) }) { return word }
    return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

extension TandemCommand {
    struct Ticket: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create and read helpdesk tickets.",
                                                        subcommands: [New.self, List.self, Show.self, Assign.self])

        struct New: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Create a ticket.",
                                                            discussion: "Example: tandem ticket new \"Printer offline\" --requester jane")
            @OptionGroup var options: CLIOptions
            @Argument(help: "What is wrong, in a few words.") var title: String
            @Option(help: "Who asked for help.") var requester: String
            func run() throws {
                throw ExitCode(try runRemote(options, "ticket new \(shellQuote(title)) --requester \(shellQuote(requester))"))
            }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List tickets.")
            @OptionGroup var options: CLIOptions
            func run() throws { throw ExitCode(try runRemote(options, "ticket list")) }
        }

        struct Show: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show a ticket and its timeline.")
            @OptionGroup var options: CLIOptions
            @Argument(help: "Ticket number.") var number: Int
            func run() throws { throw ExitCode(try runRemote(options, "ticket show \(number)")) }
        }

        struct Assign: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "assign",
                abstract: "Let another technician see and work on a ticket (its creator or an admin).",
                discussion: """
                    Example: tandem ticket assign 1042 bob
                    Bob then sees the ticket and its timeline, and may open sessions on it; he reads the
                    recordings of his own sessions only. Auditors and admins see every ticket anyway.
                    """)
            @OptionGroup var options: CLIOptions
            @Argument(help: "Ticket number.") var number: Int
            @Argument(help: "The technician's user name.") var user: String
            func run() throws { throw ExitCode(try runRemote(options, "ticket assign \(number) \(shellQuote(user))")) }
        }
    }

    struct Exec: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run one command on the end-user's machine.",
            discussion: "Example: tandem exec s-7f3a9c2e -- uname -a   (exits with the command's status)")
        @OptionGroup var options: CLIOptions
        @Flag(name: .short, help: "Do not send stdin to the command.") var noStdin = false
        @Argument(help: "The session id.") var session: String
        @Argument(parsing: .postTerminator, help: "The command, after --.") var command: [String] = []

        func validate() throws {
            _ = try SessionID.parse(session)
            let words = command.first == "--" ? Array(command.dropFirst()) : command
            guard !words.isEmpty else { throw ValidationError("give the command after --, e.g. tandem exec \(session) -- uname -a") }
        }

        func run() throws {
            let words = command.first == "--" ? Array(command.dropFirst()) : command
            let line = words.count == 1 ? words[0] : words.map(shellQuote).joined(separator: " ")
            throw ExitCode(try runRemote(options, "exec \(session) -- \(line)", forwardStdin: !noStdin))
        }
    }
}
