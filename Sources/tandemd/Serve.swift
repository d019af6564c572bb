import ArgumentParser
import ServiceLifecycle
import Foundation
import Glibc
import Logging
import Metrics
import Prometheus
import TandemBroker
import TandemCore
import TandemHelpdesk
import TandemStore

extension Tandemd {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the broker on one TLS port.",
            discussion: """
                Example: tandemd serve --data ./tandem-data --cert certs/out/broker.crt --key certs/out/broker.key
                Each setting comes from its flag, else the environment (TANDEM_ and the name in
                capitals with _ for -, e.g. TANDEM_CODE_TTL=600), else --config FILE (default
                /etc/tandem/tandemd.conf; key = value, e.g. code-ttl = 600; see deploy/tandemd.conf),
                else the default shown.
                """)
        @Option(help: "Config file (default: /etc/tandem/tandemd.conf when present; flags and TANDEM_… variables win over it).")
        var config: String?
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
        @Option(help: "Auditors and admins watching a shell live (web console, 'tandem join' by an auditor): tell (allowed, the end-user is told), ask (the end-user decides) or off. (default: tell)")
        var liveWatch: String?
        @Option(help: "Seconds a session waits for the end-user's or the technician's dropped connection to come back before it ends; 0 ends it at once. (default: 120)")
        var resumeGrace: Int?
        @Option(help: "Seconds without input or output before a session ends, after a warning to both sides; 'tandem session new --idle-limit' may ask for another. (default: 900)")
        var idleLimit: Int?
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
        @Option(help: ArgumentHelp("Request Tracker 5 to link tickets to (rt:1042) and post each session's record on, e.g. https://rt.example.com.",
                                   discussion: "Its token comes from TANDEM_RT_TOKEN or rt-token-file."))
        var rtUrl: String?
        @Option(help: "A file holding the Request Tracker token.") var rtTokenFile: String?
        @Option(help: ArgumentHelp("Redmine to link issues to (redmine:77) and post each session's record on as private notes.",
                                   discussion: "Its API key comes from TANDEM_REDMINE_KEY or redmine-key-file."))
        var redmineUrl: String?
        @Option(help: "A file holding the Redmine API key.") var redmineKeyFile: String?
        @Option(help: ArgumentHelp("Send every ticket's events and checkpoints to this URL, signed the Standard Webhooks way.",
                                   discussion: "HMAC secrets (whsec_…) come from TANDEM_WEBHOOK_SECRET or webhook-secret-file; the Ed25519 key is the broker's own ('tandemd info' prints its public key)."))
        var webhookUrl: String?
        @Option(help: "A file holding the webhook secrets (whsec_…), one per line; all of them sign.") var webhookSecretFile: String?
        @Option(help: "Older webhook signing key files (whsk_…), space separated, that still sign during a rotation.")
        var webhookPreviousKeyFiles: String?
        @Option(help: "What a bare --ticket number means: rt or redmine. (default: the broker's own tickets)") var helpdeskDefault: String?
        @Option(help: "Seconds between two posts to one helpdesk ticket; events wait and go together. (default: 5)")
        var helpdeskBatchSeconds: Double?
        @Option(help: "Seconds before the first retry of a failed post; doubles each time. (default: 1)") var helpdeskRetrySeconds: Double?
        @Option(help: "Longest wait between retries, in seconds. (default: 300)") var helpdeskRetryMaxSeconds: Double?
        @Option(help: ArgumentHelp("A folder holding asciinema-player 3.12.1 (asciinema-player.js and .css) for the web console's replays.",
                                   discussion: "scripts/setup.sh fetches them into .build-console; their SHA-256 is checked at start. (default: none: pages without the player)"))
        var consoleAssets: String?
        @Option(help: ArgumentHelp("Run as one of several brokers on one PostgreSQL database: take channels forwarded by the other replicas on this address (HOST:PORT; port 0 picks one).",
                                   discussion: "Needs --database postgres://…, peer-ca, peer-cert and peer-key, and the same broker keys in every replica's data directory. See docs/operator.md, 'Several brokers'. (default: off, one broker)"))
        var peerListen: String?
        @Option(help: "The address other replicas dial to reach this one, when it differs from peer-listen (behind NAT, or peer-listen 0.0.0.0).")
        var peerAdvertise: String?
        @Option(help: "The CA that signs replica certificates, PEM: only certificates it signed are accepted on the peer link.") var peerCa: String?
        @Option(help: "This replica's certificate, PEM, signed by peer-ca (shown to the others both ways).") var peerCert: String?
        @Option(help: "This replica's certificate key, PEM.") var peerKey: String?
        @Option(help: "Seconds without a heartbeat after which another replica declares this one lost and ends its sessions. (default: 10)")
        var replicaTimeout: Double?
        @Option(help: ArgumentHelp("Load balancers (IP addresses, space or comma separated) whose connections start with a PROXY v2 header naming the client, as haproxy's send-proxy-v2 sends.",
                                   discussion: "Connections from these addresses without the header are dropped; from others, a header is not read. (default: none)"))
        var proxyFrom: String?
        @Option(help: ArgumentHelp("Where finished recordings are kept. (default: DATA/recordings)",
                                   discussion: "Several replicas may share one folder (a network file system): any replica then verifies and exports every session. Each writes unfinished recordings in a parts-… folder of its own inside it."))
        var recordings: String?

        func run() async throws {
            // The flags above are parsed (and --help written) by ArgumentParser; their values, the
            // environment's and the config file's are read through one layer, first source wins.
            // Flags are handed over as parsed: ArgumentParser knows which word is whose value.
            let settingsSources: SettingsSources
            do {
                settingsSources = try SettingsSources(flags: flags, configFile: config, environment: ProcessInfo.processInfo.environment,
                                                      defaultFile: "/etc/tandem/tandemd.conf")
            } catch let error as TandemError {
                throw ValidationError(error.description)
            }
            let (settings, grace, metricsAddress, format) = try Self.settings(from: settingsSources)
            let peer = try Self.peerSettings(from: settingsSources)
            let dataDir = settings.dataDirectory
            if format == "json" { LoggingSystem.bootstrap { JSONLogHandler(label: $0) } }
            var logger = Logger(label: "tandemd")
            logger.logLevel = .info
            let identity = try BrokerIdentity.load(from: dataDir)
            let http = HelpdeskHTTP()
            let helpdesks: Helpdesks
            do {
                helpdesks = try HelpdeskSettings.helpdesks(from: settingsSources, dataDirectory: dataDir, http: http)
            } catch {
                await http.shutdown()
                throw ValidationError((error as? TandemError)?.description ?? "\(error)")
            }
            logger.info("tandemd \(TandemVersion.current) starting")
            // One registry for the process, bootstrapped before anything counts.
            let metricsRegistry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metricsRegistry))
            if let database, DatabaseLocation.hasPassword(database) { throw DatabaseLocationError.passwordOnCommandLine }
            let location = try DatabaseLocation.resolve(
                dataDirectory: dataDir, database: settingsSources.string("database"),
                passwordFile: settingsSources.string("database-password-file"),
                password: settingsSources.secret("database-password"))
            let store = try await BrokerAdmin.openStore(dataDir, database: location)
            logger.info("database: \(location)")
            do {
                try await run(store: store, settings: settings, peer: peer, identity: identity, helpdesks: helpdesks, grace: grace,
                              metrics: metricsAddress, registry: metricsRegistry, logger: logger)
            } catch {
                await http.shutdown()
                await store.close()
                throw error
            }
            Self.exitIfStuck(logger)
            await http.shutdown()
            await store.close()
        }

        /// The flags given, by setting name.
        var flags: [String: String?] {
            ["data": data, "listen": listen, "cert": cert, "key": key, "code-ttl": codeTtl.map { "\($0)" },
             "guess-limit": guessLimit.map { "\($0)" }, "guess-window": guessWindow.map { "\($0)" },
             "handshake-timeout": handshakeTimeout.map { "\($0)" }, "consent-timeout": consentTimeout.map { "\($0)" },
             "capture-files": captureFiles, "capture-max-bytes": captureMaxBytes.map { "\($0)" },
             "on-recording-failure": onRecordingFailure, "max-recording-bytes": maxRecordingBytes.map { "\($0)" }, "idle-limit": idleLimit.map { "\($0)" }, "live-watch": liveWatch, "resume-grace": resumeGrace.map { "\($0)" },
             "storage-reserve-bytes": storageReserveBytes.map { "\($0)" }, "shutdown-grace": shutdownGrace.map { "\($0)" },
             "database": database, "database-password-file": databasePasswordFile, "log-format": logFormat,
             "metrics-listen": metricsListen, "rt-url": rtUrl, "rt-token-file": rtTokenFile, "redmine-url": redmineUrl,
             "redmine-key-file": redmineKeyFile, "webhook-url": webhookUrl, "webhook-secret-file": webhookSecretFile,
             "webhook-previous-key-files": webhookPreviousKeyFiles, "helpdesk-default": helpdeskDefault,
             "helpdesk-batch-seconds": helpdeskBatchSeconds.map { "\($0)" }, "helpdesk-retry-seconds": helpdeskRetrySeconds.map { "\($0)" },
             "helpdesk-retry-max-seconds": helpdeskRetryMaxSeconds.map { "\($0)" }, "console-assets": consoleAssets,
             "peer-listen": peerListen, "peer-advertise": peerAdvertise, "peer-ca": peerCa, "peer-cert": peerCert, "peer-key": peerKey,
             "replica-timeout": replicaTimeout.map { "\($0)" }, "proxy-from": proxyFrom, "recordings": recordings]
        }

        /// Every setting of `serve`, by name, from the sources.
        static func settings(from sources: SettingsSources) throws
            -> (BrokerConfig, grace: Duration, metrics: (host: String, port: Int)?, logFormat: String) {
            do {
                guard let listen = try sources.address("listen", default: "127.0.0.1:8443") else { throw TandemError.invalidArgument("no listen address") }
                var settings = BrokerConfig(dataDirectory: sources.string("data", default: "./tandem-data"),
                                            certificatePath: sources.string("cert", default: "certs/out/broker.crt"),
                                            keyPath: sources.string("key", default: "certs/out/broker.key"))
                settings.host = listen.host
                settings.port = listen.port
                settings.codeLifetime = try sources.number("code-ttl", default: 600, in: 1...86_400)
                let limit = try sources.count("guess-limit", default: 5, in: 1...10_000)
                settings.guessLimits = GuessLimiter.Limits(perSource: limit, global: max(100, limit * 20),
                                                           window: try sources.number("guess-window", default: 300, in: 1...86_400))
                settings.handshakeTimeout = try sources.number("handshake-timeout", default: 20, in: 1...3600)
                settings.consentTimeout = try sources.number("consent-timeout", default: 300, in: 5...3600)
                settings.captureFiles = try sources.choice("capture-files", ["on": true, "off": false, "yes": true, "no": false,
                                                                             "true": true, "false": false], default: false)
                settings.captureLimit = try sources.count("capture-max-bytes", default: 104_857_600, in: 1...(1 << 40))
                settings.onRecordingFailure = try sources.choice("on-recording-failure", [
                    RecordingFailurePolicy.endSession.rawValue: .endSession, RecordingFailurePolicy.continueUnrecorded.rawValue: .continueUnrecorded,
                ], default: .endSession)
                settings.maxRecordingBytes = try sources.count("max-recording-bytes", default: 1_073_741_824, in: 1...(1 << 50))
                settings.idleLimit = try sources.count("idle-limit", default: 900, in: 1...86_400)
                settings.resumeGrace = try sources.count("resume-grace", default: 120, in: 0...3600)
                settings.liveWatch = try sources.choice("live-watch", Dictionary(uniqueKeysWithValues: LiveWatchPolicy.allCases.map { ($0.rawValue, $0) }),
                                                        default: .tell)
                settings.storageReserveBytes = try sources.count("storage-reserve-bytes", default: 8_388_608, in: 1...(1 << 34))
                settings.consoleAssets = try ConsoleAssets.load(from: sources.string("console-assets"))
                settings.proxyFrom = try Self.addresses(sources.string("proxy-from") ?? "", setting: "proxy-from")
                settings.recordingsOverride = sources.string("recordings")
                let grace = Duration.seconds(try sources.number("shutdown-grace", default: 10, in: 0.1...3600))
                let metrics = try sources.address("metrics-listen", default: nil)
                let format = try sources.choice("log-format", ["text": "text", "json": "json"], default: "text")
                return (settings, grace, metrics, format)
            } catch let error as TandemError {
                throw ValidationError(error.description)
            }
        }

        /// Closing the database waits for its connections: a database that is gone must not keep a
        /// stopped broker from exiting (systemd would wait, then kill it without a word).
        static func exitIfStuck(_ logger: Logger) {
            DispatchQueue.global().asyncAfter(deadline: .now() + 15) {
                logger.error("the database did not let go within 15 s of stopping; exiting anyway")
                Glibc.exit(1)
            }
        }

        /// A replica's own name for its unfinished recordings: its host and data folder, the same
        /// at every start of that replica, different for two replicas on one host.
        static func partsTag(dataDirectory: String) -> String {
            let path = URL(fileURLWithPath: dataDirectory).standardizedFileURL.path
            let host = ProcessInfo.processInfo.hostName.filter { $0.isLetter || $0.isNumber || $0 == "-" }.prefix(40)
            // FNV-1a: stable across starts and builds (Swift's own hashing is seeded per process).
            let digest = path.utf8.reduce(UInt32(2_166_136_261)) { ($0 ^ UInt32($1)) &* 16_777_619 }
            return "\(host.isEmpty ? "host" : String(host))-\(String(digest, radix: 16))"
        }

        /// IP addresses, space or comma separated, each checked.
        static func addresses(_ text: String, setting: String) throws -> Set<String> {
            var out: Set<String> = []
            for word in text.split(whereSeparator: { $0 == " " || $0 == "," }) {
                guard let address = IPAddressText.normalized(String(word)) else {
                    throw TandemError.invalidArgument("\(setting): '\(word)' is not an IP address")
                }
                out.insert(address)
            }
            return out
        }

        /// `peer-listen` and the peer link's certificates: all of them, or none (one broker alone).
        static func peerSettings(from sources: SettingsSources) throws -> PeerSettings? {
            do {
                guard let listen = try sources.address("peer-listen", default: nil) else {
                    for name in ["peer-advertise", "peer-ca", "peer-cert", "peer-key", "replica-timeout"] where sources.string(name) != nil {
                        throw TandemError.invalidArgument("\(name) is set but peer-listen is not: set peer-listen to run as one of several brokers")
                    }
                    return nil
                }
                var paths: [String] = []
                for name in ["peer-ca", "peer-cert", "peer-key"] {
                    guard let path = sources.string(name) else {
                        throw TandemError.invalidArgument("peer-listen needs \(name) too (see docs/operator.md, 'Several brokers')")
                    }
                    paths.append(path)
                }
                let advertise = try sources.address("peer-advertise", default: nil).map { "\($0.host):\($0.port)" }
                if advertise == nil, ["0.0.0.0", "::"].contains(listen.host) {
                    throw TandemError.invalidArgument("peer-listen \(listen.host) is not an address other replicas can dial: set peer-advertise")
                }
                var settings = PeerSettings(host: listen.host, port: listen.port, advertise: advertise, caPath: paths[0],
                                            certificatePath: paths[1], keyPath: paths[2])
                settings.timeout = try sources.number("replica-timeout", default: 10, in: 1...600)
                return settings
            } catch let error as TandemError {
                throw ValidationError(error.description)
            }
        }

        /// Everything after the store is open: claim it, recover, then run every service until SIGTERM.
        private func run(store: SQLStore, settings: BrokerConfig, peer: PeerSettings?, identity: BrokerIdentity, helpdesks: Helpdesks,
                         grace: Duration, metrics: (host: String, port: Int)?, registry: PrometheusCollectorRegistry, logger: Logger) async throws {
            var settings = settings
            var peering: Peering?
            if let peer {
                guard store.isPostgres else {
                    throw ValidationError("peer-listen: several brokers share one PostgreSQL database (--database postgres://…); a SQLite file serves one broker")
                }
                do {
                    peering = try Peering(settings: peer, registry: store, logger: logger)
                } catch {
                    throw ValidationError(error.description)
                }
                settings.partsTag = Self.partsTag(dataDirectory: settings.dataDirectory)
                try await store.claimSoleBroker(asReplica: true)
                // From here its session state writes touch only the sessions it owns.
                if let peering { store.serve(as: peering.replicaID) }
            } else {
                try await store.claimSoleBroker()
            }
            // A damaged database must not take new events: refuse to start, and say what to do.
            try await store.checkIntegrity(full: false)
            let dataDir = settings.dataDirectory
            let broker = Broker(config: settings, identity: identity, store: store, helpdesks: helpdesks, peering: peering, logger: logger)
            if !(await broker.ensureStorageReserve()) {
                logger.warning("could not set aside \(settings.storageReserveBytes) bytes in \(dataDir) (storage.reserve): is the disk nearly full?")
            }
            // A crash left recordings unfinished and sessions open: finish and name the first, end the second.
            await broker.recoverPartialRecordings()
            // Among replicas, sessions left open may be another replica's, alive: a lost replica's
            // sessions are ended by the survivors instead.
            if peering == nil { await broker.closeSessionsLeftOpen() }
            await broker.checkpointAll()
            let server = try BrokerServer(broker: broker, logger: logger, metrics: { registry.emitToBuffer() })
            let host = settings.host
            let fingerprint = identity.fingerprint
            let listener = BrokerService(server: server, grace: grace, logger: logger) { bound in
                // Tests and scripts read this line to learn the port.
                print("tandemd listening on \(host):\(bound) fingerprint \(fingerprint)")
                fflush(nil)
            }
            let leader: @Sendable (ReplicaJob) async -> Bool = { job in peer == nil ? true : await store.lead(job) }
            let checkpoints = PeriodicService(every: .seconds(settings.checkpointInterval)) {
                await broker.recordGuessSummaries()
                // Among replicas one signs on the timer for all (each still signs at its sessions' ends).
                if await leader(.checkpoints) { await broker.checkpointAll() }
            }
            let users = PeriodicService(every: .seconds(1)) {
                await broker.refreshUsers()
                await broker.reportGauges()
            }
            var services: [any Service] = [listener, checkpoints, users]
            // Deliveries owed to a sink this configuration no longer has wait in the outbox: say so at every start.
            let configured = Set(helpdesks.noteSinks.keys.map(\.rawValue) + helpdesks.webhooks.map(\.name))
            for (sink, counts) in (try? await store.deliveryCounts()) ?? [:] where !configured.contains(sink) {
                let waiting = (counts[.pending] ?? 0) + (counts[.sending] ?? 0)
                if waiting > 0 { logger.warning("outbox: \(waiting) deliveries owed to '\(sink)' wait, but no such helpdesk is configured") }
            }
            if !helpdesks.isEmpty {
                // What the outbox holds goes out in the background, one worker per sink: a helpdesk that
                // is slow or down delays only its own deliveries.
                for sink in helpdesks.noteSinks.keys.map(\.rawValue) + helpdesks.webhooks.map(\.name) {
                    let outbox = OutboxWorker(store: store, helpdesks: helpdesks, sink: sink, logger: logger)
                    // Among replicas one posts for all: two would post each note twice.
                    services.append(PeriodicService(every: .milliseconds(250)) { if await leader(.outbox) { await outbox.pass() } })
                }
                let names = helpdesks.noteSinks.keys.map(\.displayName).sorted() + helpdesks.webhooks.map { "webhook \($0.name)" }
                logger.info("helpdesks: \(names.joined(separator: ", "))")
            }
            if let metrics {
                services.append(MetricsService(registry: registry, host: metrics.host, port: metrics.port, logger: logger,
                                               healthy: { await broker.takesNewSessions }) { bound in
                    print("tandemd metrics on \(metrics.host):\(bound)/metrics")
                    fflush(nil)
                })
            }
            var serviceConfigs = services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) }
            if let peering {
                // A replica that must stop (lost its database, or declared lost) ends its sessions as on SIGTERM.
                // First in the list, so it stops last: it beats while the listener ends this replica's sessions.
                serviceConfigs.insert(.init(service: ReplicaService(broker: broker, peering: peering, logger: logger),
                                            failureTerminationBehavior: .gracefullyShutdownGroup), at: 0)
            }
            var group = ServiceGroupConfiguration(services: serviceConfigs, logger: logger)
            group.gracefulShutdownSignals = [.sigterm, .sigint]
            try await ServiceGroup(configuration: group).run()
        }
    }
}
