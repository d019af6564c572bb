import Foundation
import XCTest

/// Acceptance 4: a "no" stops everything and lands on the ticket.
final class RefusalTests: XCTestCase {
    func testUserRefusalIsShownToTechnicianAndRecorded() throws {
        let fx = try BrokerFixture(name: "refuse")
        defer { fx.stopAll() }
        XCTAssertEqual(try fx.tandem(["ticket", "new", "VPN broken", "--requester", "sam"]).status, 0)
        let marker = fx.dir.appendingPathComponent("must-not-exist")
        let request = try fx.requestSession(ticket: 1)
        let agent = try fx.agent(code: request.code, answer: "n")
        XCTAssertEqual(request.child.wait(20), 4, request.child.stdout + request.child.stderr)
        XCTAssertTrue(request.child.stderr.contains("The user refused the session"), request.child.stderr)
        XCTAssertEqual(agent.wait(10), 1)
        XCTAssertTrue(agent.stderr.contains("You refused"), agent.stderr)

        let attempt = try fx.tandem(["exec", request.id], after: ["--", "touch", marker.path])
        XCTAssertNotEqual(attempt.status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker.path))

        let show = try fx.tandem(["ticket", "show", "1"])
        XCTAssertTrue(show.stdout.contains("refused"), show.stdout)
        let kinds = try fx.eventKinds()
        XCTAssertTrue(kinds.contains("refused"))
        XCTAssertFalse(kinds.contains("started"))
        XCTAssertFalse(kinds.contains("exec"))
    }

    func testAnythingButYesIsARefusal() throws {
        let fx = try BrokerFixture(name: "refuse-other")
        defer { fx.stopAll() }
        XCTAssertEqual(try fx.tandem(["ticket", "new", "Slow laptop", "--requester", "sam"]).status, 0)
        let request = try fx.requestSession(ticket: 1)
        let agent = try fx.agent(code: request.code, answer: "sure")
        XCTAssertEqual(request.child.wait(20), 4)
        XCTAssertEqual(agent.wait(10), 1)
    }
}
