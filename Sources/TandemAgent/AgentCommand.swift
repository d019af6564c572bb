import ArgumentParser
import Foundation
import TandemCore

/// `tandem-agent`: what the end-user runs to let a technician in.
public struct AgentCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "tandem-agent",
        abstract: "Let a support technician connect to this computer, after you approve.",
        discussion: """
            Type the 9-digit code the technician reads to you:
              tandem-agent 482 913 705
            You will see who is asking and what for, and nothing happens unless you answer y.
            The broker address and its certificate come from /etc/tandem/agent.conf or
            ~/.config/tandem/agent.conf (broker = host:port, ca = /path/ca.crt).
            """,
        version: TandemVersion.current,
        subcommands: [Join.self], defaultSubcommand: Join.self)

    public init() {}

    struct Join: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Join a session with the code from your technician.")

        @Argument(help: "The session code, e.g. 482913705 or '482 913 705'.") var code: [String]
        @Option(help: "Broker address host:port (default: from the config file).") var broker: String?
        @Option(help: "CA certificate that signed the broker's certificate.") var ca: String?
        @Option(help: "Config file to read instead of the default places.") var config: String?
        @Flag(help: "Do not show the technician's shell on this screen; show only one-line notices of what they do.")
        var noView = false
        @Flag(name: .customLong("yes-for-tests"), help: .hidden) var yesForTests = false
        /// Appends each resume token the agent holds to this file, so a test can try to replay one.
        @Option(name: .customLong("resume-tokens-for-tests"), help: .hidden) var resumeTokensForTests: String?

        /// The only way past the question without a person; no release sets this variable.
        static let testFlagsVariable = "TANDEM_ALLOW_TEST_FLAGS"

        func validate() throws {
            _ = try SessionCode.parse(code.joined())
            if yesForTests && ProcessInfo.processInfo.environment[Self.testFlagsVariable] != "1" {
                throw ValidationError("--yes-for-tests answers for the user and exists only for automated tests; it is refused unless \(Self.testFlagsVariable)=1 is set")
            }
            if resumeTokensForTests != nil && ProcessInfo.processInfo.environment[Self.testFlagsVariable] != "1" {
                throw ValidationError("--resume-tokens-for-tests writes secrets to a file and exists only for automated tests; it is refused unless \(Self.testFlagsVariable)=1 is set")
            }
        }

        func run() async throws {
            // A process that closed its stdin must not take the agent down with SIGPIPE.
            signal(SIGPIPE, SIG_IGN)
            let paths = config.map { [$0] } ?? ["~/.config/tandem/agent.conf", "/etc/tandem/agent.conf"]
            let file = try KeyValueConfig.load(firstOf: paths)
            guard let brokerText = broker ?? file["broker"] else {
                throw ValidationError("no broker address: pass --broker host:port or set 'broker' in \(paths.joined(separator: " or "))")
            }
            let address = try BrokerAddress(parsing: brokerText)
            let auto = yesForTests
            var run = AgentRun(broker: address, caPath: ca ?? file["ca"], code: code.joined(), view: !noView) { question in
                FileHandle.standardError.write(Data(question.utf8))
                if auto {
                    FileHandle.standardError.write(Data("y (answered by --yes-for-tests)\n".utf8))
                    return "y"
                }
                return AnswerReader.line()
            }
            run.resumeTokensFile = resumeTokensForTests
            let status = await run.run()
            throw ExitCode(status)
        }
    }
}

extension AgentCommand {
    /// Parses the command line and runs the chosen command asynchronously.
    /// (Spelled out because overload resolution in `main.swift` picks the synchronous `main`.)
    public static func runFromCommandLine() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
