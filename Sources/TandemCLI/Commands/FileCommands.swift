import ArgumentParser
import Foundation
import Glibc
import TandemCore
import TandemText

extension TandemCommand {
    struct Put: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a file to the end-user's machine (needs the 'files' scope).",
            discussion: """
                Example: tandem put s-7f3a9c2e fixed.conf .config/app/app.conf
                REMOTE defaults to the file's name in the user's home. The file appears under
                its name only once complete, so an interrupted copy leaves nothing half-written.
                """)
        @OptionGroup var options: CLIOptions
        @Argument(help: "The session id.") var session: String
        @Argument(help: "Local file.") var local: String
        @Argument(help: "Remote path (relative to the user's home).") var remote: String?

        func validate() throws { _ = try SessionID.parse(session) }

        func run() throws {
            let connection = try BrokerConnection(try options.resolve())
            let sftp = try SFTPClient(session: connection.session, sessionID: session)
            var target = remote ?? (local as NSString).lastPathComponent
            if let a = try? sftp.attributes(target), a.isDirectory { target += "/" + (local as NSString).lastPathComponent }
            try sftp.upload(local, to: target, progress: Progress())
            sftp.close()
        }
    }

    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a file (or with -r a folder) from the end-user's machine.",
            discussion: """
                Examples: tandem get s-7f3a9c2e logs/app.log
                          tandem get -r s-7f3a9c2e .config/app ./app-config
                A file appears under its name only once complete. Names from the user's machine are
                checked: a name that is not a plain file name, a link pointing outside the folder being
                copied, or a link already on your side at a name being written is skipped, printed,
                and put on the ticket; the exit status is then 1. Set-uid, set-gid and sticky bits
                are never copied.
                """)
        @OptionGroup var options: CLIOptions
        @Flag(name: .short, help: "Copy folders with everything in them (links inside the folder are kept as links).") var recursive = false
        @Argument(help: "The session id.") var session: String
        @Argument(help: "Remote path (relative to the user's home).") var remote: String
        @Argument(help: "Local path (default: the remote name, here).") var local: String?

        func validate() throws { _ = try SessionID.parse(session) }

        func run() throws {
            let connection = try BrokerConnection(try options.resolve())
            let sftp = try SFTPClient(session: connection.session, sessionID: session)
            var target = local ?? (remote as NSString).lastPathComponent
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: target, isDirectory: &isDir), isDir.boolValue {
                target += "/" + (remote as NSString).lastPathComponent
            }
            let name = (target as NSString).lastPathComponent
            if let problem = RemoteName.problem(name) {
                throw ValidationError("cannot save as \(problem.words); give a local name: tandem get \(session) \(remote) NAME")
            }
            let parent = (target as NSString).deletingLastPathComponent
            let download = TreeDownload(sftp: sftp, progress: Progress())
            try download.copy(remote, into: try LocalDirectory(path: parent.isEmpty ? "." : parent), as: name, recursive: recursive)
            sftp.close()
            if download.skipped > 0 {
                writeText("tandem: \(download.skipped) item\(download.skipped == 1 ? "" : "s") skipped (listed above); the rest was copied.\n", fd: 2)
                throw ExitCode(1)
            }
        }
    }

    struct Ls: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a folder on the end-user's machine.",
                                                        discussion: "Example: tandem ls s-7f3a9c2e logs")
        @OptionGroup var options: CLIOptions
        @Argument(help: "The session id.") var session: String
        @Argument(help: "Remote folder (default: the user's home).") var path: String = "."

        func validate() throws { _ = try SessionID.parse(session) }

        func run() throws {
            let connection = try BrokerConnection(try options.resolve())
            let sftp = try SFTPClient(session: connection.session, sessionID: session)
            var skipped = 0
            for entry in try sftp.list(path) {
                if let problem = RemoteName.problem(entry.filename) {
                    skipped += 1
                    writeText("tandem: skipped an entry: the user's machine sent \(problem.words) (\(TerminalText.escape(entry.filename)))\n", fd: 2)
                    continue
                }
                writeText(TerminalText.escape(entry.longname) + "\n")
            }
            sftp.close()
            if skipped > 0 { throw ExitCode(1) }
        }
    }
}
