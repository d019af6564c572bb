import ArgumentParser
import Foundation
import TandemCore
import TandemText

extension TandemCommand {
    /// `tandem ssh-config`: the block that lets the technician's own ssh tools reach sessions.
    struct SSHConfig: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ssh-config",
            abstract: "Print the ~/.ssh/config block that lets ssh, sftp, scp and rsync reach approved sessions.",
            discussion: """
                Once:   tandem ssh-config >> ~/.ssh/config
                Then, in a session the user approved (its id is the host name):
                  ssh s-7f3a9c2e                       a shell, recorded as 'tandem shell'
                  ssh s-7f3a9c2e systemctl status cups one command, and its exit status
                  sftp s-7f3a9c2e                      file transfer ('files' scope)
                  scp fix.conf s-7f3a9c2e:/etc/app/    the same; each file's SHA-256 logged
                  rsync -a logs/ s-7f3a9c2e:logs/      'files' scope; rsync on their side
                The host name 'tandem-7f3a9c2e' works too, where 's-*' means other hosts to you.
                The broker's SSH host key (checked against your fingerprint) goes into
                known_hosts beside your tandem.conf (--known-hosts to choose); if the
                broker's key ever changes, ssh stops with its own warning.
                ssh keeps the first value it finds: put the block above 'Host *'.
                -L, -R, -D and -A are refused. See docs/technician.md.
                """)
        @OptionGroup var options: CLIOptions
        @Option(help: "Where to keep the broker's host key for ssh (default: known_hosts beside your tandem.conf).")
        var knownHosts: String?

        func run() throws {
            let resolved = try options.resolve()
            let connection = try BrokerConnection(resolved, login: false)
            let hostKey = try connection.session.peerKey().publicLine()
            let file = Self.absolute(knownHosts ?? (options.configPath as NSString).deletingLastPathComponent + "/known_hosts")
            let block = SSHConfigBlock(tandemPath: try Self.ownPath(), broker: resolved.broker, ca: resolved.ca.map(Self.absolute),
                                       user: resolved.user, identity: resolved.identity.map(Self.absolute),
                                       hostKey: hostKey, fingerprint: resolved.fingerprint, knownHostsFile: file)
            let text: String
            do {
                text = try block.render()
            } catch {
                throw CLIError.local(error.description)
            }
            try Self.writeKnownHosts(block, to: file)
            writeText(text)
            writeText("tandem: the broker's host key is in \(TerminalText.escape(file)); the block reads it from there.\n", fd: 2)
        }

        /// Adds (or replaces) this broker's line, keeping other brokers' lines; written whole or not at all.
        static func writeKnownHosts(_ block: SSHConfigBlock, to path: String) throws {
            let folder = (path as NSString).deletingLastPathComponent
            var existing = ""
            let files = FileManager.default
            do {
                try files.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                // Others who can write the folder could swap the file between our read and our rename.
                let mode = (try files.attributesOfItem(atPath: folder)[.posixPermissions] as? Int) ?? 0
                guard mode & 0o022 == 0 else { throw CLIError.local("\(folder) can be written by others: choose a folder of your own with --known-hosts") }
                if let attributes = try? files.attributesOfItem(atPath: path) {
                    // Not followed: a link, a FIFO or a device is not the file we keep.
                    guard attributes[.type] as? FileAttributeType == .typeRegular else {
                        throw CLIError.local("\(path) is not a plain file: choose another with --known-hosts")
                    }
                    guard ((attributes[.size] as? Int) ?? 0) <= 1 << 20 else { throw CLIError.local("\(path) is over 1 MiB: not a known-hosts file of Tandem's") }
                    existing = try String(contentsOfFile: path, encoding: .utf8)
                }
                try Data(block.mergedKnownHosts(existing).utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            } catch let error as CLIError {
                throw error
            } catch {
                throw CLIError.local("cannot write the broker's host key to \(path): \(error.localizedDescription)")
            }
        }

        /// The running program, so the ProxyCommand works from any directory and without PATH.
        /// Never a guess from argv[0]: a relative name could point into a folder others write.
        static func ownPath() throws -> String {
            let found = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? Bundle.main.executablePath
            guard let found, found.hasPrefix("/"), FileManager.default.isExecutableFile(atPath: found) else {
                throw CLIError.local("cannot tell where the tandem program is installed, so the ProxyCommand cannot name it")
            }
            return found
        }

        static func absolute(_ path: String) -> String {
            path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        }
    }

    /// `tandem proxy`: ssh's ProxyCommand for a session host.
    struct Proxy: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Carry ssh's connection to a session through the broker (a ProxyCommand; 'tandem ssh-config' sets it up).",
            discussion: """
                ssh runs it for you:  ssh -o ProxyCommand='tandem proxy %h' s-7f3a9c2e
                It opens TLS to the broker, checks its certificate as every tandem
                command does, names the session, then passes bytes. ssh logs in with
                your own key or ssh-agent and checks the broker's SSH host key itself
                (the block from 'tandem ssh-config' pins it).
                """)
        @OptionGroup var options: CLIOptions
        @Argument(help: "The host ssh was given (its %h): a session id like s-7f3a9c2e, or tandem-7f3a9c2e.") var host: String

        func validate() throws {
            do { _ = try SessionHost.parse(host) } catch { throw ValidationError(error.description) }
        }

        func run() throws {
            let id = try SessionHost.parse(host)
            let transport = try options.resolveTransport()
            signal(SIGPIPE, SIG_IGN)
            // ssh sends SIGHUP as it exits, before our stdin ends; the broker's last words (why a
            // login failed) come after that. So SIGHUP starts a short grace, never an endless wait.
            signal(SIGHUP, SIG_IGN)
            let hangup = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
            hangup.setEventHandler {
                // _exit: no atexit work while NIO's threads run; every write so far went straight to its fd.
                DispatchQueue.global().asyncAfter(deadline: .now() + ProxyPipe.hangupGrace) { _exit(0) }
            }
            hangup.resume()
            try ProxyPipe.run(broker: transport.broker, ca: transport.ca, preamble: .make(for: id))
            hangup.cancel()
        }
    }
}
