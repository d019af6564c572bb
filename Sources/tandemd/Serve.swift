import ArgumentParser
import Foundation
import Logging
import TandemBroker
import TandemCore
import TandemStore

extension Tandemd {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the broker on one TLS port.",
            discussion: "Example: tandemd serve --data ./tandem-data --cert certs/out/broker.crt --key certs/out/broker.key")
        @OptionGroup var options: DataOption
        @Option(help: "Address to listen on (port 0 picks a free port).") var listen = "127.0.0.1:8443"
        @Option(help: "TLS certificate chain (PEM).") var cert = "certs/out/broker.crt"
        @Option(help: "TLS private key (PEM).") var key = "certs/out/broker.key"
        @Option(help: "Seconds a session code stays valid.") var codeTtl: Double = 600
        @Option(help: "Wrong codes allowed per source within the guess window.") var guessLimit = 5
        @Option(help: "Seconds over which wrong codes are counted.") var guessWindow: Double = 300
        @Option(help: "Seconds a new connection has to identify itself.") var handshakeTimeout: Double = 20
        @Option(help: "Seconds the end-user has to answer the offer.") var consentTimeout: Double = 300

        func validate() throws {
            _ = try BrokerAddress(parsing: listen.replacingOccurrences(of: ":0", with: ":1"))
            guard codeTtl > 0, guessLimit > 0, guessWindow > 0, handshakeTimeout > 0 else {
                throw ValidationError("timeouts and limits must be positive")
            }
        }

        func run() async throws {
            var logger = Logger(label: "tandemd")
            logger.logLevel = .info
            var config = BrokerConfig(dataDirectory: options.data, certificatePath: cert, keyPath: key)
            let colon = listen.lastIndex(of: ":")!
            config.host = String(listen[..<colon])
            config.port = Int(listen[listen.index(after: colon)...]) ?? 8443
            config.codeLifetime = codeTtl
            config.guessLimits = GuessLimiter.Limits(perSource: guessLimit, global: max(100, guessLimit * 20), window: guessWindow)
            config.handshakeTimeout = handshakeTimeout
            config.consentTimeout = consentTimeout
            let identity = try BrokerIdentity.load(from: options.data)
            let store = try BrokerAdmin.openStore(options.data)
            let broker = Broker(config: config, identity: identity, store: store, logger: logger)
            let server = try BrokerServer(broker: broker, logger: logger)
            let channel = try await server.bind()
            let port = channel.localAddress?.port ?? config.port
            // Tests and scripts read this line to learn the port.
            print("tandemd listening on \(config.host):\(port) fingerprint \(identity.fingerprint)")
            fflush(nil)
            try await channel.closeFuture.get()
        }
    }
}
