import Logging
import ServiceLifecycle
import TandemStore

/// Keeps this replica on the list (a heartbeat on the database's clock) and ends the sessions of
/// replicas that fell off it. A replica that cannot say it is alive for the whole timeout, or
/// finds the others declared it lost, stops: its sessions are being ended by a survivor.
public struct ReplicaService: Service {
    let broker: Broker
    let peering: Peering
    let logger: Logger

    public init(broker: Broker, peering: Peering, logger: Logger) {
        self.broker = broker
        self.peering = peering
        self.logger = logger
    }

    public func run() async throws {
        let clock = ContinuousClock()
        let interval = Duration.milliseconds(Int64(peering.settings.heartbeatInterval * 1000))
        let timeout = Duration.milliseconds(Int64(peering.settings.timeout * 1000))
        try await cancelWhenGracefulShutdown {
            var lastBeat = clock.now
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                // Not on the list before the peer port is bound.
                guard peering.isRegistered else {
                    lastBeat = clock.now
                    continue
                }
                // Stopped on purpose (SIGTERM): off the list already, nothing to say.
                if peering.isRetired { return }
                do {
                    guard try await peering.registry.heartbeat(id: peering.replicaID) else {
                        if peering.isRetired { return }
                        throw ReplicaStop.declaredLost
                    }
                    lastBeat = clock.now
                } catch let error as StoreError {
                    if clock.now - lastBeat > timeout { throw ReplicaStop.databaseLost("\(error)") }
                    logger.warning("replica \(peering.replicaID): heartbeat failed (\(error)); stopping if it keeps failing for \(timeout)")
                    continue
                }
                await broker.sweepLostReplicas()
            }
        }
    }
}

/// Why a replica stops itself.
enum ReplicaStop: Error, CustomStringConvertible {
    case declaredLost
    case databaseLost(String)

    var description: String {
        switch self {
        case .declaredLost: "the other replicas declared this one lost (no heartbeat reached the database in time); stopping, as its sessions were ended"
        case .databaseLost(let why): "the database did not take this replica's heartbeat for the whole replica-timeout (\(why)); stopping, as the others will end its sessions"
        }
    }
}
