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
        subcommands: [Ticket.self, SessionCommand.self, Shell.self, Join.self, Exec.self, Put.self, Get.self, Ls.self, SSHConfig.self, Proxy.self,
                      Audit.self, Token.self, Console.self])

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
                                                        subcommands: [New.self, List.self, Show.self, Assign.self, SyncStatus.self, Resync.self])

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
                    let link = t.external.map { "\t" + TerminalText.escape($0) } ?? ""
                    writeText("#\(t.id)\t\(TerminalText.escape(t.status))\t\(TerminalText.escape(t.requester))\t\(TerminalText.escape(t.title))\(link)\n")
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
                if let link = t.external { text += "Helpdesk ticket: \(TerminalText.escape(link))\n" }
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

        struct SyncStatus: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "sync-status",
                abstract: "Show what the ticket's helpdesk and webhooks were sent, still wait for, or refused.",
                discussion: """
                    Example: tandem ticket sync-status 1042
                    One line per event or checkpoint and sink: delivered, pending (with the next try and the
                    last error), sending (the broker is asking the helpdesk whether it already holds it),
                    or failed (refused for good; 'tandem ticket resync 1042' tries again).
                    Exit status 0 when nothing failed, 1 when something did.
                    """)
            @OptionGroup var options: CLIOptions
            @Argument(help: "Ticket number.") var number: Int
            func run() throws {
                let rows = try RemoteCall(options: options, request: .ticketSyncStatus(ticket: number)).many(DeliveryView.self)
                guard !rows.isEmpty else {
                    writeText("Ticket #\(number) owes nothing to a helpdesk or webhook.\n")
                    return
                }
                var counts: [String: Int] = [:]
                for row in rows {
                    counts[row.state, default: 0] += 1
                    var line = "\(row.state)\t\(TerminalText.escape(row.sink))\t\(TerminalText.escape(row.kind))"
                    if let event = row.eventID { line += "\tevent \(event)" }
                    if row.attempts > 0 { line += "\t\(row.attempts) tries" }
                    if let next = row.nextTry, row.attempts > 0 { line += "\tnext \(TandemCommand.Token.New.date(next))" }
                    if let error = row.lastError, row.state != "delivered" { line += "\t\(TerminalText.field(error, limit: 200))" }
                    writeText(line + "\n")
                }
                let summary = ["delivered", "pending", "sending", "failed"].compactMap { s in counts[s].map { "\($0) \(s)" } }
                writeText("Ticket #\(number): " + summary.joined(separator: ", ") + "\n")
                if counts["failed", default: 0] > 0 { throw ExitCode(1) }
            }
        }

        struct Resync: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Try the ticket's failed deliveries again (after fixing what the helpdesk refused).",
                discussion: "Example: tandem ticket resync 1042")
            @OptionGroup var options: CLIOptions
            @Argument(help: "Ticket number.") var number: Int
            func run() throws {
                let done = try RemoteCall(options: options, request: .ticketResync(ticket: number)).one(ResyncView.self)
                writeText(done.requeued == 0 ? "Ticket #\(number) has no failed deliveries.\n"
                          : "Ticket #\(number): \(done.requeued) failed deliveries put back in line; see 'tandem ticket sync-status \(number)'.\n")
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
