import Hummingbird
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle

/// `GET /metrics` in Prometheus' text format on its own address (`metrics-listen`, e.g. 127.0.0.1:9464),
/// for a scraper on the same host or network, and `GET /healthz` for a load balancer; nothing else.
public struct MetricsService: Service {
    let application: Application<RouterResponder<BasicRequestContext>>

    /// `healthy` answers `GET /healthz` (a load balancer's check): 200 while it holds, 503 when not.
    public init(registry: PrometheusCollectorRegistry, host: String, port: Int, logger: Logger,
                healthy: @escaping @Sendable () async -> Bool = { true },
                onListening: @escaping @Sendable (Int) -> Void) {
        let router = Router()
        router.get("/healthz") { _, _ -> Response in
            let ok = await healthy()
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; charset=utf-8"
            return Response(status: ok ? .ok : .serviceUnavailable, headers: headers,
                            body: .init(byteBuffer: ByteBuffer(string: ok ? "ok\n" : "not taking new sessions\n")))
        }
        router.get("/metrics") { _, _ -> Response in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        application = Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "tandemd"),
                                  onServerRunning: { channel in onListening(channel.localAddress?.port ?? port) }, logger: logger)
    }

    public func run() async throws {
        try await application.runService()
    }
}
