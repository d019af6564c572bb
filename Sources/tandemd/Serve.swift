import ArgumentParser
import ServiceLifecycle
import Foundation
import Logging
import Metrics
import Prometheus
import TandemBroker
import TandemCore
import TandemStore

extension Tandemd {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the broker on one TLS port.",
            discussion: """
                Example: tandemd serve --data ./tandem-data --cert certs/out/broker.crt --key certs/out/broker.key
                Settings come from flags, then from --config FILE (key = value, same names
                without dashes; see deploy/tandemd.conf), then from the defaults shown.
                """)
        @Option(help: "Config file (default: /etc/tandem/tandemd.conf when present).") var config: String?
        @Option(help: "The broker's data directory (database, keys, recordings).") var data: String?
        @Option(help: "Address to listen on; port 0 picks a free port. (default: 127.0.0.1:8443)") var listen: String?
        @Option(help: "TLS certificate chain, PEM. (default: certs/out/broker.crt)") var cert: String?
        @Option(help: "TLS private key, PEM. (default: certs/out/broker.key)") var key: String?
        @Option(help: "Seconds a session code stays valid. (default: 600)") var codeTtl: Double?
        @Option(help: "Wrong codes allowed per source within the guess window. (default: 5)") var guessLimit: Int?
        @Option(help: "Seconds over which wrong codes are counted. (default: 300)") var guessWindow: Double?
        @Option(help: "Seconds a new connection has to identify itself. (default: 20)") var handshakeTimeout: Double?
        @Option(help: "Seconds the end-user has to answer the offer. (default: 300)") var consentTimeout: Double?
        @Option(help: "Keep a copy of every whole file transferred: on or off. (default: off)") var captureFiles: String?
        @Option(help: "Largest file copy kept, in bytes. (default: 104857600)") var captureMaxBytes: Int?
        @Option(help: "When a session cannot be recorded (disk full, write error, cap reached): end-session or continue. (default: end-session)")
        var onRecordingFailure: String?
        @Option(help: "Most bytes of recordings one session may write. (default: 1073741824)") var maxRecordingBytes: Int?
        @Option(help: "Space kept in reserve so session ends can be recorded on a full disk, in bytes. (default: 8388608)")
        var storageReserveBytes: Int?
        @Option(help: "Seconds SIGTERM waits for every session's recording to be finished and named. (default: 10)")
        var shutdownGrace: Double?
        @Option(help: ArgumentHelp(
            "PostgreSQL instead of the SQLite file in the data directory: postgres://USER@HOST:PORT/DATABASE.",
            discussion: "The password comes from TANDEM_DATABASE_PASSWORD or database-password-file, never from a flag."))
        var database: String?
        @Option(help: "A file holding the database password.") var databasePasswordFile: String?
        @Option(help: "Log lines as text (for people) or json (one object per line, for collectors). (default: text)")
        var logFormat: String?
        @Option(help: "Serve GET /metrics (Prometheus text) on this address, e.g. 127.0.0.1:9464; port 0 picks one. (default: off)")
        var metricsListen: String?

        func run() async throws {
            let file = try KeyValueConfig.load(firstOf: config.map { [$0] } ?? ["/etc/tandem/tandemd.conf"])
            func number(_ flag: Double?, _ key: String, _ fallback: Double) throws -> Double {
                let value = try flag ?? file[key].map { text -> Double in
                    guard let v = Double(text) else { throw ValidationError("\(key) in the config file must be a number") }
                    return v
                } ?? fallback
                guard value > 0 else { throw ValidationError("\(key) must be positive") }
                return value
            }
            let dataDir = data ?? file["data"] ?? ProcessInfo.processInfo.environment["TANDEM_DATA"] ?? "./tandem-data"
            let listenText = listen ?? file["listen"] ?? "127.0.0.1:8443"
            guard let colon = listenText.lastIndex(of: ":"), let port = Int(listenText[listenText.index(after: colon)...]),
                  (0...65535).contains(port) else {
                throw ValidationError("--listen takes host:port, e.g. 127.0.0.1:8443")
            }
            switch logFormat ?? file["log-format"] ?? "text" {
            case "text": break
            case "json": LoggingSystem.bootstrap { JSONLogHandler(label: $0) }
            default: throw ValidationError("log-format takes text or json")
            }
            var logger = Logger(label: "tandemd")
            logger.logLevel = .info
            var settings = BrokerConfig(dataDirectory: dataDir, certificatePath: cert ?? file["cert"] ?? "certs/out/broker.crt",
                                        keyPath: key ?? file["key"] ?? "certs/out/broker.key")
            settings.host = String(listenText[..<colon])
            settings.port = port
            settings.codeLifetime = try number(codeTtl, "code-ttl", 600)
            let limit = Int(try number(guessLimit.map(Double.init), "guess-limit", 5))
            settings.guessLimits = GuessLimiter.Limits(perSource: limit, global: max(100, limit * 20),
                                                       window: try number(guessWindow, "guess-window", 300))
            settings.handshakeTimeout = try number(handshakeTimeout, "handshake-timeout", 20)
            settings.consentTimeout = try number(consentTimeout, "consent-timeout", 300)
            switch captureFiles ?? file["capture-files"] ?? "off" {
            case "on", "yes", "true": settings.captureFiles = true
            case "off", "no", "false": settings.captureFiles = false
            default: throw ValidationError("capture-files takes on or off")
            }
            settings.captureLimit = Int(try number(captureMaxBytes.map(Double.init), "capture-max-bytes", 104_857_600))
            let policy = onRecordingFailure ?? file["on-recording-failure"] ?? RecordingFailurePolicy.endSession.rawValue
            guard let chosen = RecordingFailurePolicy(rawValue: policy) else {
                throw ValidationError("on-recording-failure takes end-session or continue")
            }
            settings.onRecordingFailure = chosen
            settings.maxRecordingBytes = Int(try number(maxRecordingBytes.map(Double.init), "max-recording-bytes", 1_073_741_824))
            settings.storageReserveBytes = Int(try number(storageReserveBytes.map(Double.init), "storage-reserve-bytes", 8_388_608))

            let grace = Duration.seconds(try number(shutdownGrace, "shutdown-grace", 10))
            var metricsAddress: (host: String, port: Int)?
            if let text = metricsListen ?? file["metrics-listen"] {
                guard let colon = text.lastIndex(of: ":"), let metricsPort = Int(text[text.index(after: colon)...]),
                      (0...65535).contains(metricsPort) else {
                    throw ValidationError("metrics-listen takes host:port, e.g. 127.0.0.1:9464")
                }
                metricsAddress = (String(text[..<colon]), metricsPort)
            }
            let identity = try BrokerIdentity.load(from: dataDir)
            logger.info("tandemd \(TandemVersion.current) starting")
            // One registry for the process, bootstrapped before anything counts.
            let metricsRegistry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metricsRegistry))
            if let database, DatabaseLocation.hasPassword(database) { throw DatabaseLocationError.passwordOnCommandLine }
            let location = try DatabaseLocation.resolve(
                dataDirectory: dataDir, database: database ?? file["database"] ?? ProcessInfo.processInfo.environment["TANDEM_DATABASE"],
                passwordFile: databasePasswordFile ?? file["database-password-file"])
            let store = try await BrokerAdmin.openStore(dataDir, database: location)
            logger.info("database: \(location)")
            do {
                try await run(store: store, settings: settings, identity: identity, grace: grace, metrics: metricsAddress,
                              registry: metricsRegistry, logger: logger)
            } catch {
                await store.close()
                throw error
            }
            await store.close()
        }

        /// Everything after the store is open: claim it, recover, then run every service until SIGTERM.
        private func run(store: SQLStore, settings: BrokerConfig, identity: BrokerIdentity, grace: Duration,
                         metrics: (host: String, port: Int)?, registry: PrometheusCollectorRegistry, logger: Logger) async throws {
            try await store.claimSoleBroker()
            // A damaged database must not take new events: refuse to start, and say what to do.
            try await store.checkIntegrity(full: false)
            let dataDir = settings.dataDirectory
            let broker = Broker(config: settings, identity: identity, store: store, logger: logger)
            if !(await broker.ensureStorageReserve()) {
                logger.warning("could not set aside \(settings.storageReserveBytes) bytes in \(dataDir) (storage.reserve): is the disk nearly full?")
            }
            // A crash left recordings unfinished and sessions open: finish and name the first, end the second.
            await broker.recoverPartialRecordings()
            await broker.closeSessionsLeftOpen()
            await broker.checkpointAll()
            let server = try BrokerServer(broker: broker, logger: logger, metrics: { registry.emitToBuffer() })
            let host = settings.host
            let fingerprint = identity.fingerprint
            let listener = BrokerService(server: server, grace: grace, logger: logger) { bound in
                // Tests and scripts read this line to learn the port.
                print("tandemd listening on \(host):\(bound) fingerprint \(fingerprint)")
                fflush(nil)
            }
            let checkpoints = PeriodicService(every: .seconds(settings.checkpointInterval)) {
                await broker.recordGuessSummaries()
                await broker.checkpointAll()
            }
            let users = PeriodicService(every: .seconds(1)) {
                await broker.refreshUsers()
                await broker.reportGauges()
            }
            var services: [any Service] = [listener, checkpoints, users]
            if let metrics {
                services.append(MetricsService(registry: registry, host: metrics.host, port: metrics.port, logger: logger) { bound in
                    print("tandemd metrics on \(metrics.host):\(bound)/metrics")
                    fflush(nil)
                })
            }
            var group = ServiceGroupConfiguration(services: services, logger: logger)
            group.gracefulShutdownSignals = [.sigterm, .sigint]
            try await ServiceGroup(configuration: group).run()
        }
    }
}
