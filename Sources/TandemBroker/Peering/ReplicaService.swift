import Foundation
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
                let left = timeout - (clock.now - lastBeat)
                switch await Self.beat(peering, within: left) {
                case .alive:
                    lastBeat = clock.now
                case .declaredLost:
                    if peering.isRetired { return }
                    // Its sessions are ended already, by another replica: not a word more on their
                    // chains from here, and no relaying either. Connections drop; clients come back
                    // through the load balancer.
                    logger.critical("replica \(peering.replicaID): \(ReplicaStop.declaredLost); exiting now")
                    exit(1)
                case .failed(let why):
                    if clock.now - lastBeat >= timeout {
                        // As if declared lost: the others end its sessions and finish its recordings
                        // now, so nothing more is relayed or written here (a graceful stop would
                        // finish recordings under the survivor that finishes them).
                        logger.critical("replica \(peering.replicaID): \(ReplicaStop.databaseLost(why)); exiting now")
                        exit(1)
                    }
                    logger.warning("replica \(peering.replicaID): heartbeat failed (\(why)); stopping if it keeps failing for \(timeout)")
                    continue
                }
                await broker.sweepLostReplicas()
                await broker.serveEndRequests()
            }
        }
    }
}

extension ReplicaService {
    enum Beat { case alive, declaredLost, failed(String) }

    /// One heartbeat, given up after `limit`: a database that does not answer must not keep the
    /// replica relaying past the moment the others end its sessions.
    static func beat(_ peering: Peering, within limit: Duration) async -> Beat {
        // Not a task group: it would wait for a query that hangs. A hung query is left behind.
        let answer = AsyncStream<Beat>.makeStream()
        let query = Task {
            do {
                answer.continuation.yield(try await peering.registry.heartbeat(id: peering.replicaID) ? .alive : .declaredLost)
            } catch {
                answer.continuation.yield(.failed("\(error)"))
            }
        }
        let timer = Task {
            try? await Task.sleep(for: max(limit, .milliseconds(100)))
            answer.continuation.yield(.failed("no answer within \(limit)"))
        }
        var iterator = answer.stream.makeAsyncIterator()
        let first = await iterator.next() ?? .failed("no answer")
        timer.cancel()
        query.cancel()
        return first
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
