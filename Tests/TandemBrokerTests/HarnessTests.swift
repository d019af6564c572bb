import Foundation
import TandemAudit
import TandemBroker
import TandemSimulation
import TandemStore
import XCTest

/// The broker in the test process with simulated clients: event order and shutdown, in about a second.
final class HarnessTests: XCTestCase {
    /// Every session's events, by session id, in chain order.
    private func eventsBySession(_ store: any BrokerStore) async throws -> [String: [AuditEvent]] {
        Dictionary(grouping: try await store.allEvents().filter { $0.session != nil }, by: { $0.session ?? "" })
    }

    func testSessionsInParallelEachEndWithEndedAfterEveryChannel() async throws {
        let harness = try await BrokerHarness()
        addTeardownBlock { await harness.remove() }
        let env = harness.environment
        let ticket = try await env.createTicket()
        let ids = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<20 { group.addTask { try await env.lifecycle(ticket: ticket) } }
            var ids: [String] = []
            for try await id in group { ids.append(id) }
            return ids
        }
        await harness.stop()
        let sessions = try await eventsBySession(harness.store)
        XCTAssertEqual(Set(ids).count, 20)
        for id in ids {
            let events = try XCTUnwrap(sessions[id], id)
            XCTAssertEqual(events.last?.kind, "ended", "\(id): \(events.map(\.kind))")
            XCTAssertEqual(events.last?.data["reason"], "ended by technician")
            XCTAssertEqual(events.filter { $0.kind == "channel_closed" }.count, 2, "\(id): \(events.map(\.kind))")
        }
        let recordings = harness.dir + "/recordings/"
        let report = try await AuditLog(store: harness.store).verify(ticket: nil, publicKey: harness.broker.identity.auditKey.publicKey,
                                                                     allowUnsignedChains: false) {
            FileManager.default.contents(atPath: recordings + $0 + ".cast")
        }
        XCTAssertTrue(report.ok, report.summary)
        XCTAssertEqual(report.recordingsChecked, 40, "an exec and a shell recording per session")
    }

    func testStoppingEndsLiveShellsOnRecordAndSignsEveryChain() async throws {
        let harness = try await BrokerHarness()
        addTeardownBlock { await harness.remove() }
        let env = harness.environment
        let ticket = try await env.createTicket()
        let shells = try await env.openSessions(3, ticket: ticket, parallel: 3)
        try await shells[0].type("echo before-stop\r", until: "\r\nbefore-stop\r\n")
        let stopped = ContinuousClock.now
        await harness.stop()
        XCTAssertLessThan(ContinuousClock.now - stopped, .seconds(5), "stopping waits only for the channels' ends")
        let sessions = try await eventsBySession(harness.store)
        XCTAssertEqual(sessions.count, 3)
        for (id, events) in sessions {
            let kinds = events.map(\.kind)
            XCTAssertEqual(kinds.last, "ended", "\(id): \(kinds)")
            XCTAssertEqual(events.last?.data["reason"], "broker stopping")
            let closed = try XCTUnwrap(events.first { $0.kind == "channel_closed" }, "\(id): \(kinds)")
            XCTAssertNotNil(closed.data["recording_sha256"], "the shell's recording is named")
        }
        let unsigned = try await harness.store.unsignedChains()
        XCTAssertEqual(unsigned, [], "the final checkpoint covers every chain")
    }
}
