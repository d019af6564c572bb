import ArgumentParser
import Foundation
import LibSSH
import TandemAPI
import TandemAudit
import TandemCore
import TandemText

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
        subcommands: [Ticket.self, SessionCommand.self, Shell.self, Exec.self, Put.self, Get.self, Ls.self, Audit.self, Token.self])

    public init() {}
}

/// Quotes one argument for a POSIX shell (an exec's words become one command line on the user's machine).
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
                let ticket = try RemoteCall(options: options, request: .ticketNew(title: title, requester: requester)).one(TicketView.self)
                writeText("Ticket #\(ticket.id) created: \(TerminalText.escape(ticket.title))\n")
            }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List tickets.")
            @OptionGroup var options: CLIOptions
            func run() throws {
                for t in try RemoteCall(options: options, request: .ticketList).many(TicketView.self) {
                    writeText("#\(t.id)\t\(TerminalText.escape(t.status))\t\(TerminalText.escape(t.requester))\t\(TerminalText.escape(t.title))\n")
                }
            }
        }

        struct Show: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show a ticket and its timeline.")
            @OptionGroup var options: CLIOptions
            @Argument(help: "Ticket number.") var number: Int
            func run() throws {
                let detail = try RemoteCall(options: options, request: .ticketShow(ticket: number)).one(TicketDetail.self)
                let t = detail.ticket
                var text = "Ticket #\(t.id): \(TerminalText.escape(t.title))\nRequester: \(TerminalText.escape(t.requester))\n"
                    + "Status: \(TerminalText.escape(t.status))\n"
                if !detail.assignees.isEmpty { text += "Assigned to: \(detail.assignees.map { TerminalText.escape($0) }.joined(separator: ", "))\n" }
                text += "Timeline:\n" + detail.timeline.map { "  \($0.humanLine)\n" }.joined()
                writeText(text)
            }
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
            func run() throws {
                _ = try RemoteCall(options: options, request: .ticketAssign(ticket: number, user: user)).one(TicketView.self)
                writeText("Ticket #\(number) assigned to \(TerminalText.escape(user)).\n")
            }
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
            // The broker refuses it too; said here, before the command's own output stream begins.
            guard line.utf8.count <= ControlRequest.maxCommandBytes else {
                writeText("tandem: \(ControlRequest.commandTooLong(line.utf8.count))\n", fd: 2)
                throw ExitCode(2)
            }
            let connection = try BrokerConnection(try options.resolve())
            let channel = try connection.session.openChannel()
            let pump = ChannelPump(session: connection.session, channel: channel, forwardStdin: !noStdin)
            try channel.requestExec(ControlRequest.exec(SessionID(rawValue: session), command: line).json)
            throw ExitCode(try pump.run())
        }
    }
}
