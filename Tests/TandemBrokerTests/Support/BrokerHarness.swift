@preconcurrency import Crypto
import Foundation
import TandemTestSupport
import Logging
import NIOCore
import NIOPosix
import NIOSSH
import Synchronization
import TandemBroker
import TandemCore
import TandemSimulation
import TandemStore
import XCTest

/// A whole broker in the test process: its real TLS port on 127.0.0.1, its real store (optionally
/// slowed), and simulated technicians and agents (swift-nio-ssh) in place of the CLI and agent
/// processes, so a test takes milliseconds, not seconds.
final class BrokerHarness: Sendable {
    let dir: String
    let broker: Broker
    let server: BrokerServer
    let listener: Channel
    let store: any BrokerStore
    let clients: MultiThreadedEventLoopGroup
    /// A technician named "load" and an agent TLS context: what the simulated clients need.
    let environment: LoadEnvironment

    /// Certificates are made once per test run (certs/make-dev-certs.sh) and shared.
    private static let certificates: Result<String, any Error> = Result {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-harness-certs-\(getpid())").path
        if FileManager.default.fileExists(atPath: dir + "/ca.crt") { return dir }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("certs/make-dev-certs.sh").path
        let made = try runToCompletion("/bin/bash", [script, dir])
        guard made.status == 0 else { throw StoreError.sql("make-dev-certs.sh failed: \(made.stderr)") }
        return dir
    }

    /// `slowStore` puts that delay in front of every store call.
    init(slowStore: Duration? = nil, clock: any WallClock = SystemWallClock(), configure: (inout BrokerConfig) -> Void = { _ in }) async throws {
        let certs = try Self.certificates.get()
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-harness-\(UUID().uuidString)").path
        let identity = try await BrokerAdmin.initialise(dataDirectory: dir)
        let real = try await BrokerAdmin.openStore(dir)
        let key = Curve25519.Signing.PrivateKey()
        let sshKey = NIOSSHPrivateKey(ed25519Key: key)
        try await real.addUser(name: "load", role: .technician, publicKey: String(openSSHPublicKey: sshKey.publicKey), now: Date())
        store = slowStore.map { SlowStore(inner: real, delay: $0) } ?? real
        var config = BrokerConfig(dataDirectory: dir, certificatePath: certs + "/broker.crt", keyPath: certs + "/broker.key")
        config.port = 0
        configure(&config)
        var logger = Logger(label: "harness")
        logger.logLevel = .critical
        broker = Broker(config: config, identity: identity, store: store, clock: clock, logger: logger)
        server = try BrokerServer(broker: broker, logger: logger)
        listener = try await server.bind()
        clients = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        environment = LoadEnvironment(
            broker: BrokerAddress(host: "127.0.0.1", port: listener.localAddress?.port ?? 0), group: clients, user: "load", key: sshKey,
            technicianTLS: try TandemTLS.clientContext(caPath: certs + "/ca.crt", alpn: TandemTLS.sshALPN),
            agentTLS: try TandemTLS.clientContext(caPath: certs + "/ca.crt", alpn: TandemTLS.agentALPN))
    }

    private let stopped = Mutex(false)

    /// Stops the broker as SIGTERM does and the simulated clients; the store stays open to be read.
    /// A second call does nothing.
    func stop() async {
        guard stopped.withLock({ s in defer { s = true }; return !s }) else { return }
        try? await listener.close()
        await broker.stop(reason: "broker stopping", grace: .seconds(5))
        try? await server.shutdown()
        try? await clients.shutdownGracefully()
    }

    /// Stops (if the test did not), closes the store and removes the broker's folder.
    func remove() async {
        await stop()
        await store.close()
        try? FileManager.default.removeItem(atPath: dir)
    }
}
