import ArgumentParser
import Crypto
import Foundation
import NIOCore
import NIOPosix
import NIOSSH
import NIOSSL
import TandemCore
import TandemSimulation

/// Many concurrent sessions against one broker, from one process (`bench/load.sh` runs it);
/// and, for the end-to-end tests, a technician client that sends any login name.
@main
struct LoadGen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tandem-loadgen",
        abstract: "Load generator for benchmarks: many technicians and agents in one process.",
        discussion: """
            Example: tandem-loadgen keygen --out /tmp/load
                     tandemd user add load --role technician --key /tmp/load/load.pub
                     tandem-loadgen run --broker 127.0.0.1:8443 --ca ca.crt --key /tmp/load/load.key \\
                       --broker-pid 1234 --sessions 1000
            Each session is a real TLS + SSH technician connection and a real TLS + SSH agent
            connection to the broker; the agent's shell is a built-in echo, so the broker alone
            is measured. Not for production: it approves every offer.
            """,
        version: TandemVersion.current,
        subcommands: [Keygen.self, Run.self, Lifecycles.self, Command.self])

    struct Lifecycles: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run N whole sessions at once (exec, shell, end); print each session id (tests).")
        @Option(help: "Broker address, host:port.") var broker: String
        @Option(help: "CA certificate that signed the broker's certificate.") var ca: String
        @Option(help: "Private key written by keygen.") var key: String
        @Option(help: "Technician user name.") var user = "load"
        @Option(help: "Sessions, all at once.") var sessions = 50
        @Option(help: "Tickets the sessions are spread over.") var tickets = 5
        @Option(help: "Where the agents connect, when it is another replica than --broker (several brokers on one database).")
        var agentBroker: String?

        func run() async throws {
            let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
            var setup = try LoadEnvironment(broker: broker, ca: ca, keyFile: key, user: user, group: group)
            setup.agentBroker = try agentBroker.map(BrokerAddress.init(parsing:))
            let env = setup
            var ticketIDs: [Int] = []
            for _ in 0..<max(1, tickets) { ticketIDs.append(try await env.createTicket()) }
            let ids = try await withThrowingTaskGroup(of: String.self) { tasks in
                for n in 0..<sessions {
                    let ticket = ticketIDs[n % ticketIDs.count]
                    tasks.addTask { try await env.lifecycle(ticket: ticket) }
                }
                var ids: [String] = []
                for try await id in tasks { ids.append(id) }
                return ids
            }
            for id in ids { print(id) }
            try await group.shutdownGracefully()
        }
    }

    struct Keygen: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a technician key pair: load.key (private) and load.pub.")
        @Option(help: "Directory to write the keys into.") var out: String
        func run() throws {
            let key = Curve25519.Signing.PrivateKey()
            try Data(key.rawRepresentation.base64EncodedString().utf8).write(to: URL(fileURLWithPath: out + "/load.key"))
            let line = String(openSSHPublicKey: NIOSSHPrivateKey(ed25519Key: key).publicKey)
            try Data((line + " loadgen\n").utf8).write(to: URL(fileURLWithPath: out + "/load.pub"))
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Open N sessions, load them, print one Markdown row.")
        @Option(help: "Broker address, host:port.") var broker: String
        @Option(help: "CA certificate that signed the broker's certificate.") var ca: String
        @Option(help: "Private key written by keygen.") var key: String
        @Option(help: "Technician user name.") var user = "load"
        @Option(help: "Process id of the broker, for its memory and CPU.") var brokerPid: Int32
        @Option(help: "Concurrent sessions.") var sessions = 100
        @Option(help: "Seconds of load (each session runs `echo` once a second).") var seconds = 20
        @Option(help: "Sessions being set up at once.") var parallel = 32

        func run() async throws {
            let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
            let env = try LoadEnvironment(broker: broker, ca: ca, keyFile: key, user: user, group: group)
            let broker = ProcessStats(pid: brokerPid)
            let ticket = try await env.createTicket()
            // The broker's first sessions also pay for its one-time allocations; warm it up
            // so RSS per session counts what each more session costs.
            let warm = try await env.openSessions(10, ticket: ticket, parallel: 10)
            try await Task.sleep(for: .seconds(1))
            let rss0 = broker.rssKiB()
            let started = Date()
            let shells = try await env.openSessions(sessions, ticket: ticket, parallel: parallel) + warm
            let setupSeconds = Date().timeIntervalSince(started)
            try await Task.sleep(for: .seconds(2))
            let rssIdle = broker.rssKiB()
            let probe = try await env.openSessions(1, ticket: ticket, parallel: 1)[0]
            let cpu0 = broker.cpuSeconds(), t0 = Date()
            let commands = Samples(), keys = Samples()
            let tasks = shells.map { $0.tickEverySecond(into: commands) } + [probe.typeEvery(.milliseconds(20), into: keys)]
            try await Task.sleep(for: .seconds(seconds))
            for t in tasks { t.cancel() }
            let cpu = (broker.cpuSeconds() - cpu0) / Date().timeIntervalSince(t0) * 100
            let rssActive = broker.rssKiB()
            let k = keys.quantiles(), c = commands.quantiles()
            print(String(format: "| %d | %.1f MiB | %.1f MiB | %.0f KiB | %.0f %% | %.3f ms | %.3f ms | %.3f ms | %d | %.1f s |",
                         sessions, Double(rssIdle) / 1024, Double(rssActive) / 1024, Double(rssIdle - rss0) / Double(sessions), cpu,
                         k.p50, k.p99, c.p99, c.count, setupSeconds))
            for s in shells + [probe] { s.close() }
            try await Task.sleep(for: .seconds(1))
            try await group.shutdownGracefully()
        }
    }
}
