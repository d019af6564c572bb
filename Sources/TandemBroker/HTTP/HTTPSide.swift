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
    /// HTTP connections served at once; more are closed at once (the SSH side is not affected).
    static let maxConnections = 512

    init(services: BrokerServices, metrics: (@Sendable () -> [UInt8])?, logger: Logger) {
        let router = Router(context: APIRequestContext.self)
        router.add(middleware: APIErrors(logger: logger))
        router.add(middleware: BearerAuthentication(services: services, logger: logger))
        APIRoutes(services: services, metrics: metrics, logger: logger).add(to: router)
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
        guard open.enter(limit: Self.maxConnections) else {
            logger.warning("closed an HTTP connection from \(channel.remoteAddress?.ipAddress ?? "?"): \(Self.maxConnections) are already open")
            return channel.close()
        }
        let open = self.open
        channel.closeFuture.whenComplete { _ in open.leave() }
        guardHandler.markEstablished()
        return channel.pipeline.syncOperations.removeHandler(guardHandler).flatMap {
            http.setup(channel: channel, logger: logger)
        }.map { value in
            Task { await http.handle(value: value, logger: logger) }
        }
    }
}

/// How many HTTP connections are open.
final class OpenConnections: Sendable {
    private let count = Atomic<Int>(0)

    /// Counts one more unless `limit` are open.
    func enter(limit: Int) -> Bool {
        var current = count.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = count.compareExchange(expected: current, desired: current + 1, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }

    func leave() { count.subtract(1, ordering: .relaxed) }

    var value: Int { count.load(ordering: .relaxed) }
}
