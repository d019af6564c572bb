import ArgumentParser
import Foundation
import Glibc
import TandemAPI
import TandemAudit
import TandemCore
import TandemText

extension TandemCommand {
    struct Audit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Review what was done: timelines, terminal replays, verification, exports.",
            discussion: """
                Examples:
                  tandem audit log --ticket 1042
                  tandem audit replay s-7f3a9c2e --speed 4
                  tandem audit export --ticket 1042 -o ticket-1042.tar
                  tandem audit verify ticket-1042.tar --public-key "tandem-audit-ed25519 …"
                """,
            subcommands: [Log.self, Replay.self, Export.self, Verify.self])

        struct Log: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "A ticket's or a session's timeline.")
            @OptionGroup var options: CLIOptions
            @Option(help: "Ticket number.") var ticket: Int?
            @Option(help: "Session id.") var session: String?
            @Flag(help: "JSON lines, one event each, as stored and hashed (on a terminal, DEL, C1 and bidi characters are written as \\u escapes: the same JSON).")
            var json = false

            func validate() throws {
                guard (ticket == nil) != (session == nil) else { throw ValidationError("give either --ticket N or --session S") }
                if let session { _ = try SessionID.parse(session) }
            }

            func run() throws {
                let subject: ControlRequest.AuditSubject = ticket.map { .ticket($0) } ?? .session(SessionID(rawValue: session ?? ""))
                let json = self.json
                let terminal = isatty(1) == 1
                let status = try RemoteCall(options: options, request: .auditLog(subject)).lines { text in
                    guard let event = try? JSONDecoder().decode(AuditEvent.self, from: Data(text.utf8)) else {
                        return writeText(TerminalText.escape(text) + "\n")
                    }
                    if json {
                        // The line as stored and hashed, whatever JSON carried it here.
                        writeText((terminal ? TerminalText.jsonForTerminal(event.exportLine) : event.exportLine) + "\n")
                    } else {
                        writeText(event.humanLine + "\n")
                    }
                }
                throw ExitCode(status)
            }
        }

        struct Export: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Write a ticket's audit bundle (tar) for offline verification.")
            @OptionGroup var options: CLIOptions
            @Option(help: "Ticket number.") var ticket: Int
            @Option(name: .shortAndLong, help: "Output file.") var output: String

            func run() throws {
                guard FileManager.default.createFile(atPath: output, contents: nil, attributes: [.posixPermissions: 0o600]),
                      let file = FileHandle(forWritingAtPath: output) else {
                    throw ValidationError("cannot write \(output)")
                }
                var size = 0
                var writeError: Error?
                let status: Int32
                do {
                    status = try RemoteCall(options: options, request: .auditExport(ticket: ticket)).raw { bytes in
                        guard writeError == nil else { return }
                        do { try file.write(contentsOf: Data(bytes)) } catch { writeError = error }
                        size += bytes.count
                    }
                    try file.close()
                } catch {
                    try? FileManager.default.removeItem(atPath: output)
                    throw error
                }
                if let writeError {
                    try? FileManager.default.removeItem(atPath: output)
                    throw ValidationError("cannot write \(output): \(writeError.localizedDescription)")
                }
                guard status == 0 else {
                    try? FileManager.default.removeItem(atPath: output)
                    throw ExitCode(status)
                }
                writeText("Wrote \(output) (\(size) bytes). Verify it anywhere with: tandem audit verify \(output)\n")
            }
        }

        struct Verify: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Check that a ticket's log is complete and unedited.",
                discussion: """
                    Offline, from a bundle (no broker needed): tandem audit verify ticket-1042.tar
                    Pin the broker's audit key (from 'tandemd info') so a forged bundle cannot pass:
                      tandem audit verify ticket-1042.tar --public-key "tandem-audit-ed25519 …"
                    Online, at the broker: tandem audit verify --ticket 1042
                    Against the helpdesk too: tandem audit verify --ticket 1042 --against-helpdesk
                      compares the chain with the signed checkpoints its helpdesk ticket (rt:…, redmine:…)
                      holds, which shows the one edit a hash chain alone cannot: its newest events deleted.
                    Exit status 0 when everything verifies, 1 naming the first broken link.
                    """)
            @OptionGroup var options: CLIOptions
            @Argument(help: "An exported bundle (.tar).") var bundle: String?
            @Option(help: "Verify at the broker instead.") var ticket: Int?
            @Option(help: "The audit public key you expect (tandem-audit-ed25519 …).") var publicKey: String?
            @Flag(help: "Accept a technician's export that leaves out other technicians' recordings (it then proves less).")
            var allowWithheld = false
            @Flag(help: "With --ticket: also compare with the signed checkpoints the linked helpdesk ticket holds.")
            var againstHelpdesk = false

            func validate() throws {
                guard (bundle == nil) != (ticket == nil) else { throw ValidationError("give a bundle file, or --ticket N") }
                if againstHelpdesk && ticket == nil { throw ValidationError("--against-helpdesk needs --ticket N (the broker asks the helpdesk)") }
            }

            func run() throws {
                if let ticket {
                    // A chain that fails to verify is still answered with its report (and status 1).
                    var report: VerificationView?
                    let status = try RemoteCall(options: options, request: .auditVerify(ticket: ticket, againstHelpdesk: againstHelpdesk)).lines { line in
                        report = try? JSONDecoder().decode(VerificationView.self, from: Data(line.utf8))
                    }
                    if let report { writeText(TerminalText.escape(report.summary, .multiLine) + "\n", fd: report.ok ? 1 : 2) }
                    throw ExitCode(report?.ok == true ? status : max(status, 1))
                }
                guard let data = FileManager.default.contents(atPath: bundle!) else { throw ValidationError("cannot read \(bundle!)") }
                let report: ChainVerifier.Report
                do {
                    report = try AuditBundle.open(data).verify(expectedKey: publicKey, acceptWithheld: allowWithheld)
                } catch {
                    writeText("FAILED: \(TerminalText.escape("\(error)"))\n", fd: 2)
                    throw ExitCode(1)
                }
                writeText(TerminalText.escape(report.summary, .multiLine) + "\n", fd: report.ok ? 1 : 2)
                throw ExitCode(report.ok ? 0 : 1)
            }
        }
    }
}
