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
                  ssh s-7f3a9c2e                           a shell, recorded as with 'tandem shell'
                  ssh s-7f3a9c2e systemctl status cups     one command; ssh exits with its status
                  sftp s-7f3a9c2e                          file transfer (the 'files' scope)
                  scp fix.conf s-7f3a9c2e:/etc/app/        the same, each file logged with its SHA-256
                  rsync -a logs/ s-7f3a9c2e:logs/          the 'files' scope, and rsync on the user's machine
                'tandem-7f3a9c2e' works too, where 's-*' names other hosts in your ssh config.
                The block pins the broker's SSH host key, read now and checked against your configured
                fingerprint: if the broker's key ever changes, ssh stops with its own warning.
                Port forwarding (-L, -R, -D) and agent forwarding (-A) are refused. See docs/technician.md.
                """)
        @OptionGroup var options: CLIOptions

        func run() throws {
            let resolved = try options.resolve()
            let connection = try BrokerConnection(resolved, login: false)
            let hostKey = try connection.session.peerKey().publicLine()
            let block = SSHConfigBlock(tandemPath: Self.ownPath(), broker: resolved.broker, ca: resolved.ca.map(Self.absolute),
                                       user: resolved.user, identity: resolved.identity.map(Self.absolute),
                                       hostKey: hostKey, fingerprint: resolved.fingerprint)
            do {
                writeText(try block.render())
            } catch {
                throw CLIError.local(error.description)
            }
        }

        /// The running program, so the ProxyCommand works from any directory and without PATH.
        static func ownPath() -> String {
            if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
            return absolute(CommandLine.arguments[0])
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
                It opens TLS to the broker, checks the broker's certificate as every tandem command does,
                names the session, and then passes bytes. ssh logs in with your own key or ssh-agent and
                checks the broker's SSH host key itself (the block from 'tandem ssh-config' pins it).
                """)
        @OptionGroup var options: CLIOptions
        @Argument(help: "The host ssh was given (its %h): a session id like s-7f3a9c2e, or tandem-7f3a9c2e.") var host: String

        func validate() throws {
            do { _ = try SessionHost.parse(host) } catch { throw ValidationError(error.description) }
        }

        func run() throws {
            let id = try SessionHost.parse(host)
            let transport = try options.resolveTransport()
            // ssh sends SIGHUP as it exits; the broker's last words (why a login failed) come after.
            signal(SIGHUP, SIG_IGN)
            signal(SIGPIPE, SIG_IGN)
            try ProxyPipe.run(broker: transport.broker, ca: transport.ca, preamble: .make(for: id))
        }
    }
}
