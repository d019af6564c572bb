import Foundation
import NIOCore
import NIOSSL

/// The one place all three programs configure TLS, so trust rules cannot drift apart.
public enum TandemTLS {
    public static let agentALPN = "tandem-agent/1"
    public static let sshALPN = "tandem-ssh/1"
    public static let httpALPN = "http/1.1"
    /// Replicas of one broker talking to each other (issue 16), on their own port.
    public static let peerALPN = "tandem-peer/1"
    /// For the agent's and the CLI's one connection each: reads grow to 256 KiB under bulk
    /// transfer (NIO's default stops at 64 KiB), for fewer system calls. Not for the broker,
    /// whose thousands of sockets each keep their largest read buffer.
    public static let receiveAllocator = AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 16 * 1024, maximum: 256 * 1024)

    /// The broker's side: its certificate chain and key, every protocol it speaks.
    public static func serverContext(certificatePath: String, keyPath: String) throws(TandemError) -> NIOSSLContext {
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certificatePath).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
            var config = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
            config.minimumTLSVersion = .tlsv12
            config.applicationProtocols = [sshALPN, agentALPN, httpALPN]
            return try NIOSSLContext(configuration: config)
        } catch {
            throw .tls("cannot load the broker certificate '\(certificatePath)' or its key: \(error). Run certs/make-dev-certs.sh or point --cert/--key at your files.")
        }
    }

    /// A replica's side of the peer link, both ways: its own certificate, and only certificates
    /// from `caPath` accepted from the other side (which must show one). The names in them are
    /// not checked: the peer CA signs replicas and nothing else, and replicas are found by their
    /// address in the database, not by name.
    public static func peerContext(certificatePath: String, keyPath: String, caPath: String, server: Bool) throws(TandemError) -> NIOSSLContext {
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certificatePath).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
            var config = server
                ? TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
                : TLSConfiguration.makeClientConfiguration()
            if !server {
                config.certificateChain = chain
                config.privateKey = .privateKey(key)
            }
            config.minimumTLSVersion = .tlsv13
            config.applicationProtocols = [peerALPN]
            config.certificateVerification = .noHostnameVerification
            config.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caPath))
            return try NIOSSLContext(configuration: config)
        } catch {
            throw .tls("cannot load the replica certificate '\(certificatePath)', its key or the peer CA '\(caPath)': \(error). See docs/operator.md, 'Several brokers'.")
        }
    }

    /// A client that trusts only `caPath` (or the system store when nil) and speaks `alpn`.
    public static func clientContext(caPath: String?, alpn: String) throws(TandemError) -> NIOSSLContext {
        do {
            var config = TLSConfiguration.makeClientConfiguration()
            config.minimumTLSVersion = .tlsv12
            config.applicationProtocols = [alpn]
            config.certificateVerification = .fullVerification
            if let caPath {
                config.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caPath))
            }
            return try NIOSSLContext(configuration: config)
        } catch {
            throw .tls("cannot load the CA certificate '\(caPath ?? "system")': \(error)")
        }
    }
}
