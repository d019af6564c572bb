import Foundation
import Synchronization
import XCTest

/// Issue 3, acceptance 3: SIGKILL of the broker loses no acknowledged event and the chain still verifies.
final class DurabilityTests: XCTestCase {
    func testKillingTheBrokerMidSessionLosesNoAcknowledgedEvent() throws {
        let fx = try BrokerFixture(name: "sigkill")
        defer { fx.stopAll() }
        let (id, _) = try fx.activeSession()

        // Commands run back to back; the broker is killed while they are in flight.
        let acknowledged = Acks()
        let dir = fx.dir
        let config = fx.cliConfig
        let worker = Thread {
            for n in 1...60 {
                guard let r = try? runTool(Harness.tool("tandem"), ["exec", "-n", id] + config + ["--", "echo ack-\(n)"], in: dir, timeout: 10),
                      r.status == 0, r.stdout == "ack-\(n)\n" else { break }
                acknowledged.add(n)
            }
        }
        worker.start()
        XCTAssertTrue(Harness.waitUntil(30) { acknowledged.count >= 5 }, "no command got through")
        kill(fx.broker.process.processIdentifier, SIGKILL)
        XCTAssertTrue(Harness.waitUntil(30) { worker.isFinished })
        let acked = acknowledged.all
        XCTAssertGreaterThanOrEqual(acked.count, 5)

        try fx.startBroker()
        let log = try fx.tandem(["audit", "log", "--ticket", "1", "--json"])
        XCTAssertEqual(log.status, 0, log.stderr)
        for n in acked {
            XCTAssertTrue(log.stdout.contains("\"command\":\"echo ack-\(n)\""), "acknowledged command \(n) is missing after the kill")
        }
        XCTAssertTrue(log.stdout.contains("broker restarted"), "the interrupted session is closed on record")
        let verify = try fx.tandem(["audit", "verify", "--ticket", "1"])
        XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
    }
}

/// Numbers of the commands whose output came back, shared with the worker thread.
final class Acks: Sendable {
    private let list = Mutex<[Int]>([])
    func add(_ n: Int) { list.withLock { $0.append(n) } }
    var count: Int { list.withLock { $0.count } }
    var all: [Int] { list.withLock { $0 } }
}
