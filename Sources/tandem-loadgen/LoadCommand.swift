import ArgumentParser
import Crypto
import Foundation
import NIOCore
import NIOPosix
import NIOSSH
import TandemCore
import TandemSimulation

extension LoadGen {
    /// A technician's client that sends whatever login name it is given, as a hostile one
    /// could: libssh and OpenSSH refuse control characters in user names, this does not.
    struct Command: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run one broker command as any user name; print its output lines as they come (tests).")
        @Option(help: "Broker address, host:port.") var broker: String
        @Option(help: "CA certificate that signed the broker's certificate.") var ca: String
        @Option(help: "Private key written by keygen.") var key: String
        @Option(help: "Login name, sent byte for byte.") var user: String
        @Argument(help: "The remote command: a JSON request, e.g. '{\"op\":\"session.new\",\"ticket\":1}', or 'exec SESSION -- CMD'.") var command: String

        func run() async throws {
            let sshKey = try LoadEnvironment.readKey(key)
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let technician = try await LoadTechnician.connect(
                broker: try BrokerAddress(parsing: broker), tls: try TandemTLS.clientContext(caPath: ca, alpn: TandemTLS.sshALPN),
                user: user, key: sshKey, group: group).get()
            let status = try await technician.run(command) { line in
                // Unbuffered: a test waits for the code line while the command is still running.
                var text = line + "\n"
                text.withUTF8 { _ = writeAll(1, UnsafeRawBufferPointer($0)) }
            }.get()
            technician.close()
            try await group.shutdownGracefully()
            throw ExitCode(Int32(clamping: status))
        }
    }
}
