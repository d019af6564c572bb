import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Synchronization
import TandemAPI

/// The HTTP API on the broker's TLS port: connections that negotiate ALPN `http/1.1` get a
/// Hummingbird router over the same services as the SSH control channel.
struct HTTPSide: Sendable {
    private let http: HTTP1Channel
    private let logger: Logger
    private let open = OpenConnections()
    private let refusedLog = RefusalLogBudget()
    /// HTTP connections served at once, and from one address; more are closed at once (the SSH
    /// side is not affected).
    static let maxConnections = 512
    static let maxConnectionsPerSource = 32

    init(services: BrokerServices, metrics: (@Sendable () -> [UInt8])?, assets: ConsoleAssets, logger: Logger) throws {
        let router = Router(context: APIRequestContext.self)
        router.add(middleware: APIErrors(logger: logger))
        // The API takes bearer tokens; the console (its own group) takes its cookie.
        let api = router.group().add(middleware: BearerAuthentication(services: services, logger: logger))
        APIRoutes(services: services, metrics: metrics, logger: logger).add(to: api)
        ConsoleRoutes(services: services, pages: try ConsolePages(), assets: assets, logger: logger).add(to: router)
        let responder = router.buildResponder()
        self.logger = logger
        http = HTTP1Channel(responder: { request, writer, channel in
            let context = APIRequestContext(source: .init(channel: channel, logger: logger))
            var response: Response
            do {
                response = try await responder.respond(to: request, context: context)
            } catch {
                let failure = ServiceFailure(error)
                failure.log("API request \(request.method)", to: logger)
                response = APIResponse.failure(failure)
            }
            try await writer.write(response: response.head, body: response.body)
        }, configuration: .init(idleTimeout: .seconds(30)))
    }

    /// Takes over a TLS connection that chose HTTP (after `guardHandler`, which only watches
    /// handshakes, is gone): its requests are served until it closes or idles out.
    func serve(_ channel: Channel, replacing guardHandler: ConnectionGuard) -> EventLoopFuture<Void> {
        let http = self.http
        let logger = self.logger
        let source = channel.clientIP
        guard open.enter(source, limit: Self.maxConnections, perSource: Self.maxConnectionsPerSource) else {
            if refusedLog.admit(source) == .log {
                logger.warning("closed an HTTP connection from \(source): \(Self.maxConnectionsPerSource) from it or \(Self.maxConnections) in all are already open")
            }
            return channel.close()
        }
        let open = self.open
        channel.closeFuture.whenComplete { _ in open.leave(source) }
        guardHandler.markEstablished()
        return channel.pipeline.syncOperations.removeHandler(guardHandler).flatMap {
            http.setup(channel: channel, logger: logger)
        }.map { value in
            Task { await http.handle(value: value, logger: logger) }
        }
    }
}

/// How many HTTP connections are open, in all and from each address.
final class OpenConnections: Sendable {
    private let counts = Mutex<(all: Int, bySource: [String: Int])>((0, [:]))

    /// Counts one more from `source` unless `limit` are open, or `perSource` from it.
    func enter(_ source: String, limit: Int, perSource: Int) -> Bool {
        counts.withLock { counts in
            let mine = counts.bySource[source] ?? 0
            guard counts.all < limit, mine < perSource else { return false }
            counts.all += 1
            counts.bySource[source] = mine + 1
            return true
        }
    }

    func leave(_ source: String) {
        counts.withLock { counts in
            counts.all -= 1
            let mine = (counts.bySource[source] ?? 1) - 1
            counts.bySource[source] = mine > 0 ? mine : nil
        }
    }

    var value: Int { counts.withLock { $0.all } }
}
