import Foundation
import NIOCore
import NIOSSL

/// The one place all three programs configure TLS, so trust rules cannot drift apart.
public enum TandemTLS {
    public static let agentALPN = "tandem-agent/1"
    public static let sshALPN = "tandem-ssh/1"
    public static let httpALPN = "http/1.1"
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
