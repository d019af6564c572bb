import Foundation
import NIOCore
import Synchronization
import TandemAPI
import TandemSimulation
import XCTest

/// Issue 10, acceptance 7: with a store whose every call takes 200 ms, a live session's keystrokes
/// keep echoing while 20 technicians log in and 20 sessions are requested. Store calls run off the
/// event loops and never hold the relay: the echo's worst case stays far below 200 ms.
final class SlowStoreTests: XCTestCase {
    func testKeystrokesKeepEchoingWhileASlowStoreServesLoginsAndRequests() async throws {
        let harness = try await BrokerHarness(slowStore: .milliseconds(200))
        addTeardownBlock { await harness.remove() }
        let env = harness.environment
        let ticket = try await env.createTicket()
        let shell = try await env.openSessions(1, ticket: ticket, parallel: 1)[0]

        // Echo timed all along: the quiet part first, then under the store's load.
        let quiet = Samples()
        let typing = shell.typeEvery(.milliseconds(20), into: quiet)
        try await Task.sleep(for: .milliseconds(500))
        typing.cancel()
        let loaded = Samples()
        let typingUnderLoad = shell.typeEvery(.milliseconds(20), into: loaded)
        let started = ContinuousClock.now
        let requested = try await withThrowingTaskGroup(of: Bool.self) { group in
            for n in 0..<20 {
                // Arrivals paced over a second, one every 25 ms: forty TLS and SSH handshakes at the same
                // instant would measure the CPU of two cores, not the store (a fast store shows the same stall).
                let arrival = Duration.milliseconds(50 * n)
                group.addTask {
                    try await Task.sleep(for: arrival)
                    // A login: the broker looks the technician up in the (slow) store.
                    let technician = try await LoadTechnician.connect(broker: env.broker, tls: env.technicianTLS, user: env.user,
                                                                     key: env.key, group: env.group).get()
                    technician.close()
                    return false
                }
                group.addTask {
                    try await Task.sleep(for: arrival + .milliseconds(25))
                    // A session request, answered with its code once its row and events are stored.
                    let technician = try await LoadTechnician.connect(broker: env.broker, tls: env.technicianTLS, user: env.user,
                                                                     key: env.key, group: env.group).get()
                    defer { technician.close() }
                    return try await withCheckedThrowingContinuation { (done: CheckedContinuation<Bool, any Error>) in
                        let once = Once()
                        technician.run(.sessionNew(ticket: .number(ticket), scopes: [.shell], timeLimit: nil)) { line in
                            if line.contains("\"code\""), once.claim() { done.resume(returning: true) }
                        }.whenComplete { _ in
                            if once.claim() { done.resume(returning: false) }
                        }
                    }
                }
            }
            var codes = 0
            for try await gotCode in group where gotCode { codes += 1 }
            return codes
        }
        let busy = ContinuousClock.now - started
        typingUnderLoad.cancel()
        // A keystroke stuck behind the store would never be sampled: none may be left waiting.
        let deadline = ContinuousClock.now + .seconds(1)
        while shell.waiting && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        let stuck = shell.waiting
        let callsDuringLoad = (harness.store as? SlowStore)?.calls.value ?? 0
        await harness.stop()
        XCTAssertFalse(stuck, "a keystroke was still waiting for its echo when the load ended")

        print("slow store (200 ms a call): worst echo \(loaded.max) ms, p50 \(loaded.quantiles().p50) ms, \(loaded.quantiles().count) keystrokes over \(busy)")
        XCTAssertEqual(requested, 20, "every request got its code")
        // The load was real: the slow store was called for every login and request.
        XCTAssertGreaterThanOrEqual(callsDuringLoad, 60, "store calls while typing")
        let (p50, p99, count) = loaded.quantiles()
        XCTAssertGreaterThan(count, 10, "keystrokes echoed while the store was busy")
        XCTAssertLessThan(loaded.max, 100, "worst echo \(loaded.max) ms (p50 \(p50), p99 \(p99), quiet p99 \(quiet.quantiles().p99)) over \(busy)")
    }
}

/// True for the first caller only: one answer per continuation, whichever side comes first.
private final class Once: Sendable {
    private let taken = Mutex(false)
    func claim() -> Bool {
        taken.withLock { t in
            defer { t = true }
            return !t
        }
    }
}
