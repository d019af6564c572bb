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
                A file appears under its name only once complete.
                """)
        @OptionGroup var options: CLIOptions
        @Flag(name: .short, help: "Copy folders with everything in them (symlinks are kept as symlinks).") var recursive = false
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
            let progress = Progress()
            if recursive {
                try copyTree(sftp, remote, target, progress)
            } else {
                let a = try sftp.attributes(remote)
                guard !a.isDirectory else { throw CLIError.remote("\(remote) is a folder; use tandem get -r") }
                try sftp.download(remote, to: target, progress: progress)
            }
            sftp.close()
        }

        private func copyTree(_ sftp: SFTPClient, _ remote: String, _ local: String, _ progress: Progress) throws {
            let a = try sftp.attributes(remote, follow: false)
            if a.isSymlink {
                let target = try sftp.readlink(remote)
                guard symlink(target, local) == 0 else { throw CLIError.remote("cannot create the link \(local): \(String(cString: strerror(errno)))") }
            } else if a.isDirectory {
                if mkdir(local, mode_t((a.permissions ?? 0o755) & 0o7777)) != 0 && errno != EEXIST {
                    throw CLIError.remote("cannot create \(local): \(String(cString: strerror(errno)))")
                }
                for entry in try sftp.list(remote) {
                    try copyTree(sftp, remote + "/" + entry.filename, local + "/" + entry.filename, progress)
                }
            } else {
                try sftp.download(remote, to: local, progress: progress)
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
            for entry in try sftp.list(path) { writeText(TerminalText.escape(entry.longname) + "\n") }
            sftp.close()
        }
    }
}
