import ArgumentParser
import Foundation
import TandemAPI
import TandemText
#if canImport(Glibc)
import Glibc
#endif

extension TandemCommand {
    struct Console: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open the broker's web console: timelines, replays and verification in a browser.",
            discussion: """
                Prints a one-time sign-in link (valid 60 seconds, once), made with your SSH key,
                and opens it in your browser when one is at hand. The console session it starts lasts
                8 hours; 'tandem console sign-out-all' ends every one of yours at once.
                Example:
                  tandem console
                  tandem console --no-open        # on a server: copy the link to your own browser
                """,
            subcommands: [Open.self, SignOutAll.self], defaultSubcommand: Open.self)

        struct Open: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "open", abstract: "Print a sign-in link and open it (the default).")
            @OptionGroup var options: CLIOptions
            @Flag(help: "Only print the link; do not start a browser.") var noOpen = false

            func run() throws {
                let resolved = try options.resolve()
                let link = try RemoteCall(options: options, request: .consoleLink).one(ConsoleLinkView.self)
                // The path is the broker's; only its own characters are kept, so it cannot become another URL.
                guard link.path.hasPrefix("/console/sign-in?link="),
                      link.path.utf8.allSatisfy({ (33...126).contains($0) && $0 != UInt8(ascii: "\\") }) else {
                    throw ValidationError("the broker answered a sign-in link this version cannot use")
                }
                let host = resolved.broker.host.contains(":") ? "[\(resolved.broker.host)]" : resolved.broker.host
                let url = "https://\(host):\(resolved.broker.port)\(link.path)"
                // Alone on stdout, so `$(tandem console --no-open)` captures just the link.
                writeText(url + "\n")
                writeText("Valid for \(link.expiresIn) seconds and one sign-in; the console session then lasts 8 hours.\n", fd: 2)
                if !noOpen, Self.openInBrowser(url) { writeText("Opened in your browser.\n", fd: 2) }
            }

            /// Starts the desktop's browser with `xdg-open` (no shell, output to /dev/null), when there is a desktop.
            static func openInBrowser(_ url: String) -> Bool {
                let env = ProcessInfo.processInfo.environment
                guard env["DISPLAY"] != nil || env["WAYLAND_DISPLAY"] != nil, let opener = ["/usr/bin/xdg-open", "/usr/local/bin/xdg-open"]
                    .first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else { return false }
                var actions = posix_spawn_file_actions_t()
                posix_spawn_file_actions_init(&actions)
                defer { posix_spawn_file_actions_destroy(&actions) }
                for fd: Int32 in [0, 1, 2] { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0) }
                let argv: [UnsafeMutablePointer<CChar>?] = [strdup(opener), strdup(url), nil]
                defer { argv.forEach { free($0) } }
                var pid: pid_t = 0
                return posix_spawn(&pid, opener, &actions, nil, argv, environ) == 0
            }
        }

        struct SignOutAll: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "sign-out-all",
                                                            abstract: "End every console session of yours, in every browser.")
            @OptionGroup var options: CLIOptions
            func run() throws {
                let view = try RemoteCall(options: options, request: .consoleSignOutAll).one(ConsoleSignOutView.self)
                writeText(view.signedOut == 1 ? "Signed out of 1 console session.\n" : "Signed out of \(view.signedOut) console sessions.\n")
            }
        }
    }
}
