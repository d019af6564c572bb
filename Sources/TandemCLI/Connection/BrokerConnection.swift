import Foundation
import LibSSH
import NIOCore
import NIOPosix
import TandemCore
import TandemText

/// The technician's logged-in SSH connection to the broker, through the TLS tunnel.
///
/// libssh runs on the calling thread (the CLI's main thread); NIO carries TLS on its own.
final class BrokerConnection {
    let session: SSHSession
    private let group: MultiThreadedEventLoopGroup
    private let tunnel: Channel

    /// `login: false` stops after checking the broker's SSH key (enough to read it, as `ssh-config` does).
    init(_ options: CLIOptions.Resolved, login: Bool = true) throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let tls = try TandemTLS.clientContext(caPath: options.ca, alpn: TandemTLS.sshALPN)
            let group = self.group
            tunnel = try TLSTunnel.connect(to: options.broker, context: tls, group: group) { channel in
                try channel.pipeline.syncOperations.addHandler(EarlyBytesHolder())
            }.flatMapError { error in
                ConnectFailure.explain(error, broker: options.broker, caPath: options.ca, group: group).flatMapThrowing { why in
                    throw CLIError.connect(options.broker, why)
                }
            }.wait()
            let (fd, _) = try TLSTunnel.bridge(tunnel, group: group).wait()
            let opened = try SSHSession.open(fd: fd, user: options.user, expectedFingerprint: options.fingerprint)
            if login {
                let key = try options.identity.map { path throws(SSHError) in try SSHKey.loadPrivate(path: path) }
                try opened.login(key: key)
            }
            session = opened
        } catch let error as SSHError {
            try? group.syncShutdownGracefully()
            throw CLIError.ssh(error)
        } catch let error as TandemError {
            try? group.syncShutdownGracefully()
            throw CLIError.connect(options.broker, error.description)
        } catch let error as CLIError {
            try? group.syncShutdownGracefully()
            throw error
        } catch {
            try? group.syncShutdownGracefully()
            throw CLIError.connect(options.broker, String(describing: error))
        }
    }

    deinit {
        session.disconnect()
        tunnel.close(promise: nil)
        try? group.syncShutdownGracefully()
    }
}

/// The CLI's errors, each with what to do about it.
enum CLIError: Error, CustomStringConvertible {
    case connect(BrokerAddress, String)
    case ssh(SSHError)
    case remote(String)
    /// Something on the technician's own machine (a folder it cannot write, a link it will not follow).
    case local(String)

    /// Escaped: remote paths and the agent's own messages end up in these texts.
    var description: String {
        switch self {
        case .connect(let address, let why): return TerminalText.escape("cannot connect to the broker at \(address): \(why)")
        case .ssh(let error): return TerminalText.escape(error.description)
        case .remote(let why), .local(let why): return TerminalText.escape(why)
        }
    }
}
