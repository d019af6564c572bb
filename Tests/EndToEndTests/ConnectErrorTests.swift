import Foundation
import XCTest

/// Issue 9, point 8: when the secure connection fails, the agent and the CLI say which check
/// failed and what to do.
final class ConnectErrorTests: XCTestCase {
    private let certScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("certs/make-dev-certs.sh").path

    private func joinStderr(_ fx: BrokerFixture, port: Int, ca: String) throws -> (Int32?, String) {
        let agent = try Child(Harness.tool("tandem-agent"), ["123456789", "--broker", "127.0.0.1:\(port)", "--ca", ca],
                              in: fx.dir, name: "agent-\(UUID().uuidString.prefix(4))", stdin: .pipe)
        let status = agent.wait(20)
        return (status, agent.stderr)
    }

    func testAWrongCAAnExpiredCertificateAndAnEmptyPortEachSayWhatToDo() throws {
        let fx = try BrokerFixture(name: "tls-errors")
        defer { fx.stopAll() }

        // A CA file that did not sign the broker's certificate.
        let other = fx.dir.appendingPathComponent("other-ca")
        XCTAssertEqual(try runTool("/bin/bash", [certScript, other.path], in: fx.dir).status, 0)
        let wrongCA = other.appendingPathComponent("ca.crt").path
        let (status, agentSaid) = try joinStderr(fx, port: fx.port, ca: wrongCA)
        XCTAssertEqual(status, 3)
        XCTAssertTrue(agentSaid.contains("the broker's certificate is not signed by the CA in \(wrongCA): ask your IT team for the right file"), agentSaid)
        XCTAssertFalse(agentSaid.contains("closed channel"), agentSaid)
        let cli = try fx.tandem(["ticket", "list", "--ca", wrongCA])
        XCTAssertNotEqual(cli.status, 0)
        XCTAssertTrue(cli.stderr.contains("is not signed by the CA in \(wrongCA)"), cli.stderr)

        // Nothing listening.
        let closedPort = try Harness.freePort()
        let (_, nobody) = try joinStderr(fx, port: closedPort, ca: "certs/ca.crt")
        XCTAssertTrue(nobody.contains("nothing answers at 127.0.0.1:\(closedPort)"), nobody)

        // An expired broker certificate, signed by the right CA.
        let certs = fx.dir.appendingPathComponent("certs").path
        let cnf = URL(fileURLWithPath: certScript).deletingLastPathComponent().appendingPathComponent("openssl-broker.cnf").path
        XCTAssertEqual(try runTool("/usr/bin/openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                                                       "-keyout", certs + "/old.key", "-out", certs + "/old.csr", "-config", cnf], in: fx.dir).status, 0)
        XCTAssertEqual(try runTool("/usr/bin/openssl", ["x509", "-req", "-in", certs + "/old.csr", "-CA", certs + "/ca.crt", "-CAkey", certs + "/ca.key",
                                                       "-CAcreateserial", "-days", "-1", "-out", certs + "/old.crt",
                                                       "-extfile", cnf, "-extensions", "broker_ext"], in: fx.dir).status, 0)
        fx.broker.stop()
        let expired = try Child(Harness.tool("tandemd"), ["serve", "--data", fx.data.path, "--listen", "127.0.0.1:0",
                                                          "--cert", "certs/old.crt", "--key", "certs/old.key"], in: fx.dir, name: "tandemd-expired")
        defer { expired.stop() }
        XCTAssertTrue(Harness.waitUntil(15) { expired.stdout.contains("listening on") }, expired.stderr)
        let port = Int(expired.stdout.components(separatedBy: "127.0.0.1:").last?.prefix { $0.isNumber } ?? "") ?? 0
        let (_, old) = try joinStderr(fx, port: port, ca: "certs/ca.crt")
        XCTAssertTrue(old.contains("the broker's certificate expired on"), old)
        XCTAssertTrue(old.contains("ask your IT team to renew it"), old)
    }
}
