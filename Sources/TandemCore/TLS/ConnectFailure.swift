import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Why a connection to the broker failed, in words the person at the keyboard can act on:
/// which check failed and what to do, never "I/O on closed channel".
public enum ConnectFailure {
    /// Failures of our own that NIO has no error for.
    public enum Cause: Error, Sendable {
        case closedDuringHandshake
        case handshakeTimedOut
    }

    /// Explains `error` from `TLSTunnel.connect`. A refused certificate is looked at once more,
    /// without trusting it, only to tell an expired one from one signed by another CA.
    public static func explain(_ error: Error, broker: BrokerAddress, caPath: String?, group: EventLoopGroup) -> EventLoopFuture<String> {
        let loop = group.next()
        let text = String(describing: error)
        let place = "\(broker.host):\(broker.port)"
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            return certificateDates(broker: broker, group: group).map { dates in
                certificateProblem(dates, caPath: caPath, now: Date())
            }
        }
        return loop.makeSucceededFuture(describe(error, text: text, place: place, host: broker.host))
    }

    static func describe(_ error: Error, text: String, place: String, host: String) -> String {
        if let e = error as? NIOSSLExtraError, e == .failedToValidateHostname {
            return "the broker's certificate is not made out for '\(host)': check the broker address you were given, or ask your IT team"
        }
        if case ChannelError.connectTimeout = error {
            return "no answer from \(place) within 10 seconds: check this computer's network connection and the broker address"
        }
        if error is NIOConnectionError || (error as? IOError)?.errnoCode == ECONNREFUSED {
            if text.contains("dns") || text.contains("DNS") || text.contains("resolve") {
                return "the name '\(host)' cannot be found: check the broker address and this computer's network connection"
            }
            return "nothing answers at \(place): check the broker address, or ask your IT team whether the support service is running"
        }
        if text.contains("WRONG_VERSION_NUMBER") || text.contains("HTTP_REQUEST") || text.contains("PACKET_LENGTH_TOO_LONG") {
            return "the server at \(place) does not speak TLS: check the port in the broker address"
        }
        if text.contains("NO_APPLICATION_PROTOCOL") || text.contains("ALPN") {
            return "the server at \(place) is not a Tandem broker (it does not offer Tandem's protocol): check the broker address"
        }
        if text.contains("PROTOCOL_VERSION") || text.contains("UNSUPPORTED_PROTOCOL") {
            return "the server at \(place) offers only TLS versions older than 1.2, which Tandem refuses: ask your IT team"
        }
        if case Cause.handshakeTimedOut = error {
            return "the server at \(place) accepted the connection but did not answer the secure handshake within \(TLSTunnel.handshakeLimit.nanoseconds / 1_000_000_000) s: check the broker address"
        }
        if case Cause.closedDuringHandshake = error {
            return "the server at \(place) closed the connection during the secure handshake: check the broker address"
        }
        if let ssl = error as? NIOSSLError, case .uncleanShutdown = ssl {
            return "the server at \(place) closed the connection during the secure handshake: check the broker address"
        }
        return "the secure connection to \(place) failed (\(text.prefix(200)))"
    }

    /// When the certificate was refused: expired, not yet valid, or not from the expected CA.
    static func certificateProblem(_ dates: (notBefore: Date, notAfter: Date)?, caPath: String?, now: Date) -> String {
        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        if let dates, dates.notAfter < now {
            return "the broker's certificate expired on \(day.string(from: dates.notAfter)): ask your IT team to renew it (and check this computer's date)"
        }
        if let dates, dates.notBefore > now {
            return "the broker's certificate is not valid before \(day.string(from: dates.notBefore)): check this computer's date and time"
        }
        if let caPath {
            return "the broker's certificate is not signed by the CA in \(caPath): ask your IT team for the right file"
        }
        return "the broker's certificate is not signed by an authority this computer trusts: ask your IT team for the CA file (ca = … in the config)"
    }

    /// The broker's certificate validity, read from a handshake that verifies nothing and sends nothing.
    static func certificateDates(broker: BrokerAddress, group: EventLoopGroup) -> EventLoopFuture<(notBefore: Date, notAfter: Date)?> {
        let loop = group.next()
        var config = TLSConfiguration.makeClientConfiguration()
        config.certificateVerification = .none
        guard let context = try? NIOSSLContext(configuration: config) else { return loop.makeSucceededFuture(nil) }
        return ClientBootstrap(group: loop)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: nil))
                    try channel.pipeline.syncOperations.addHandler(HandshakeWatcher(promise: channel.eventLoop.makePromise()))
                }
            }
            .connect(host: broker.host, port: broker.port)
            .flatMap { channel -> EventLoopFuture<(notBefore: Date, notAfter: Date)?> in
                channel.eventLoop.flatSubmit {
                    do {
                        return try HandshakeWatcher.completion(of: channel, within: .seconds(5)).flatMapThrowing {
                            defer { channel.close(promise: nil) }
                            let tls = try channel.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self)
                            guard let cert = tls.peerCertificate else { return nil }
                            return (Date(timeIntervalSince1970: TimeInterval(cert.notValidBefore)),
                                    Date(timeIntervalSince1970: TimeInterval(cert.notValidAfter)))
                        }
                    } catch {
                        channel.close(promise: nil)
                        return channel.eventLoop.makeSucceededFuture(nil)
                    }
                }
            }
            .recover { _ in nil }
    }
}
