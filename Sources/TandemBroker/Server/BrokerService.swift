import Foundation
import Logging
import NIOCore
import ServiceLifecycle

/// The TLS listener as a service: on graceful shutdown (SIGTERM, SIGINT) it stops accepting,
/// ends every live session with "broker stopping" (both sides see it), waits up to `grace` for
/// every recording to be finished and named, signs every chain, and returns.
public struct BrokerService: Service {
    let server: BrokerServer
    let grace: Duration
    let logger: Logger
    /// Called with the bound port once the broker accepts connections.
    let onListening: @Sendable (Int) -> Void

    public init(server: BrokerServer, grace: Duration, logger: Logger, onListening: @escaping @Sendable (Int) -> Void) {
        self.server = server
        self.grace = grace
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        let listener = try await server.bind()
        // Replicas: the peer port first, so no peer is pointed at a port not yet taken.
        let peerListener = try await server.bindPeer()
        if let peerListener, let peering = server.broker.peering {
            try await peering.register(boundPort: peerListener.localAddress?.port ?? 0, partsFolder: server.broker.config.partsDirectory)
        }
        onListening(listener.localAddress?.port ?? 0)
        // Until asked to stop (a signal), or cancelled; either way the stop below runs.
        try? await gracefulShutdown()
        logger.notice("stopping: no new connections; ending every session")
        // Whatever hangs (a database that is gone, a client that never reads), the process ends:
        // the grace for the sessions, then half a minute for the rest.
        let logger = self.logger
        DispatchQueue.global().asyncAfter(deadline: .now() + grace.seconds + 30) {
            logger.error("still stopping \(grace.seconds + 30) s after the signal; exiting anyway")
            exit(1)
        }
        try? await listener.close()
        await server.broker.stop(reason: "broker stopping", grace: grace)
        try? await peerListener?.close()
        await server.broker.peering?.retire()
        try await server.shutdown()
        logger.notice("stopped")
    }
}

extension Duration {
    /// Whole and fractional seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// Runs `action` every `interval` until the broker stops (the checkpoint timer, the user watcher).
public struct PeriodicService: Service {
    let interval: Duration
    let action: @Sendable () async -> Void

    public init(every interval: Duration, _ action: @escaping @Sendable () async -> Void) {
        self.interval = interval
        self.action = action
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                if Task.isCancelled { break }
                await action()
            }
        }
    }
}
