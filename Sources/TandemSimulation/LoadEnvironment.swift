@preconcurrency import Crypto
import Foundation
import NIOCore
import NIOSSH
import NIOSSL
import TandemAPI
import TandemCore

/// What every simulated session needs: where the broker is and who to be.
public struct LoadEnvironment: Sendable {
    public enum Failure: Error, CustomStringConvertible {
        case setup(String)
        public var description: String {
            switch self {
            case .setup(let why): return "loadgen: \(why)"
            }
        }
    }

    public var broker: BrokerAddress
    /// Where the agents connect: the technicians' broker unless another replica is named.
    public var agentBroker: BrokerAddress?
    public var group: EventLoopGroup
    public var user: String
    public var key: NIOSSHPrivateKey
    public var technicianTLS: NIOSSLContext
    public var agentTLS: NIOSSLContext

    public init(broker: BrokerAddress, group: EventLoopGroup, user: String, key: NIOSSHPrivateKey,
                technicianTLS: NIOSSLContext, agentTLS: NIOSSLContext) {
        self.broker = broker
        self.group = group
        self.user = user
        self.key = key
        self.technicianTLS = technicianTLS
        self.agentTLS = agentTLS
    }

    /// The load generator's way: a broker address, a CA file and a key written by `tandem-loadgen keygen`.
    public init(broker: String, ca: String, keyFile: String, user: String, group: EventLoopGroup) throws {
        self.init(broker: try BrokerAddress(parsing: broker), group: group, user: user, key: try Self.readKey(keyFile),
                  technicianTLS: try TandemTLS.clientContext(caPath: ca, alpn: TandemTLS.sshALPN),
                  agentTLS: try TandemTLS.clientContext(caPath: ca, alpn: TandemTLS.agentALPN))
    }

    /// A key file of `tandem-loadgen keygen`: the raw Ed25519 private key in base64.
    public static func readKey(_ path: String) throws -> NIOSSHPrivateKey {
        let raw = try Data(base64Encoded: String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)) ?? Data()
        return NIOSSHPrivateKey(ed25519Key: try Curve25519.Signing.PrivateKey(rawRepresentation: raw))
    }

    public func createTicket() async throws -> Int {
        let technician = try await LoadTechnician.connect(broker: broker, tls: technicianTLS, user: user, key: key, group: group).get()
        defer { technician.close() }
        let output = Lines()
        let status = try await technician.run(.ticketNew(title: "Load test", requester: "bench")) { output.add($0) }.get()
        let text = output.all.joined(separator: "\n")
        guard status == 0, let ticket = try? JSONDecoder().decode(TicketView.self, from: Data(text.utf8)) else {
            throw Failure.setup("ticket new failed (status \(status)): \(text.prefix(200))")
        }
        return ticket.id
    }

    /// Opens `count` approved sessions, each with a shell at its first prompt.
    public func openSessions(_ count: Int, ticket: Int, parallel: Int) async throws -> [LoadShell] {
        try await withThrowingTaskGroup(of: LoadShell.self) { tasks in
            var shells: [LoadShell] = []
            var started = 0
            while started < min(parallel, count) {
                tasks.addTask { try await self.openSession(ticket: ticket) }
                started += 1
            }
            while let shell = try await tasks.next() {
                shells.append(shell)
                if started < count {
                    tasks.addTask { try await self.openSession(ticket: ticket) }
                    started += 1
                }
            }
            return shells
        }
    }

    private func openSession(ticket: Int) async throws -> LoadShell {
        let (technician, id, agent) = try await pair(ticket: ticket)
        let shell = LoadShell(technician: technician, agent: agent)
        try await shell.open(session: id)
        return shell
    }

    /// Requests a session on `ticket` and has a simulated agent approve it: the technician's
    /// connection, the session id and the agent.
    public func pair(ticket: Int) async throws -> (LoadTechnician, String, AgentHolder) {
        let technician = try await LoadTechnician.connect(broker: broker, tls: technicianTLS, user: user, key: key, group: group).get()
        let session = Lines()
        let agent = Lines()
        let broker = self.agentBroker ?? self.broker, agentTLS = self.agentTLS, group = self.group
        let agentChannel = AgentHolder()
        let status = try await technician.run(.sessionNew(ticket: .number(ticket), scopes: [.shell], timeLimit: nil)) { line in
            session.add(line)
            guard let event = try? JSONDecoder().decode(PairingUpdate.self, from: Data(line.utf8)), event.type == "code",
                  let code = event.code else { return }
            LoadAgent.join(code: code, broker: broker, tls: agentTLS, group: group).whenComplete { result in
                switch result {
                case .success(let channel): agentChannel.set(channel)
                case .failure(let error):
                    agent.add("agent: \(error)")
                    // Nobody will answer the offer: end the request rather than wait for the code to expire.
                    technician.close()
                }
            }
        }.get()
        let id = session.all.compactMap { try? JSONDecoder().decode(PairingUpdate.self, from: Data($0.utf8)).session }.first
        guard status == 0, let id else {
            technician.close()
            throw Failure.setup("session new ended with status \(status): \((session.all + agent.all).joined(separator: " | ").prefix(300))")
        }
        return (technician, id, agentChannel)
    }

    /// One whole session: pairing, an exec, a shell with a line typed into it, and `session end`
    /// while the shell is still open (the broker closes it). Returns the session id.
    public func lifecycle(ticket: Int) async throws -> String {
        let (technician, id, agent) = try await pair(ticket: ticket)
        defer {
            technician.close()
            agent.close()
        }
        let output = Lines()
        let status = try await technician.run(.exec(SessionID(rawValue: id), command: "echo exec-\(id)")) { output.add($0) }.get()
        guard status == 0, output.all == ["exec-\(id)"] else {
            throw Failure.setup("exec in \(id) ended with status \(status): \(output.all.joined(separator: " | ").prefix(200))")
        }
        let shell = LoadShell(technician: technician, agent: agent)
        try await shell.open(session: id)
        try await shell.type("echo typed-\(id)\r", until: "\r\ntyped-\(id)\r\n")
        let end = Lines()
        let ended = try await technician.run(.sessionEnd(SessionID(rawValue: id))) { end.add($0) }.get()
        guard ended == 0 else { throw Failure.setup("session end \(id) ended with status \(ended): \(end.all.joined(separator: " | "))") }
        try await shell.closed()
        return id
    }
}
