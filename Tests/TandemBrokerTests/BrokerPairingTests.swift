import Foundation
import Logging
import TandemCore
import TandemStore
import XCTest

import TandemAudit
@testable import TandemBroker

/// The broker's pairing rules against a real SQLite file, with time from a manual clock.
final class BrokerPairingTests: XCTestCase {
    private func makeBroker(clock: ManualWallClock, limits: GuessLimiter.Limits = .init(), checkpointEvery: Int = 100) async throws -> Broker {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-broker-\(UUID().uuidString)").path
        let identity = try await BrokerAdmin.initialise(dataDirectory: dir)
        var config = BrokerConfig(dataDirectory: dir, certificatePath: "", keyPath: "")
        config.codeLifetime = 600
        config.guessLimits = limits
        config.checkpointEvery = checkpointEvery
        let store = try await BrokerAdmin.openStore(dir)
        addTeardownBlock { await store.close() }
        _ = try await store.createTicket(title: "Printer offline", requester: "jane", now: clock.now)
        return Broker(config: config, identity: identity, store: store, clock: clock, logger: Logger(label: "test"))
    }

    func testCodeExpiresByTheClockNotByWaiting() async throws {
        let clock = ManualWallClock()
        let broker = try await makeBroker(clock: clock)
        let (_, code) = try await broker.createSession(technician: "alice", ticketID: 1, scopes: [.shell], timeLimit: nil)
        clock.advance(by: 601)
        let result = await broker.redeem(code: code.digits, source: "127.0.0.1", agentUser: "jane", agentHost: "pc")
        XCTAssertEqual(result.failureValue, .codeExpired)
    }

    func testOfferNamesTechnicianTicketScopesAndBrokerKey() async throws {
        let clock = ManualWallClock()
        let broker = try await makeBroker(clock: clock)
        let (id, code) = try await broker.createSession(technician: "alice", ticketID: 1, scopes: [.shell], timeLimit: 900)
        let offer = try await broker.redeem(code: code.grouped, source: "127.0.0.1", agentUser: "jane", agentHost: "pc").get()
        XCTAssertEqual(offer.sessionID, id.rawValue)
        XCTAssertEqual(offer.technician, "alice")
        XCTAssertEqual(offer.ticketTitle, "Printer offline")
        XCTAssertEqual(offer.timeLimitSeconds, 900)
        XCTAssertEqual(offer.brokerPublicKey, broker.identity.publicKeyLine)
        let again = await broker.redeem(code: code.digits, source: "127.0.0.1", agentUser: "jane", agentHost: "pc")
        XCTAssertEqual(again.failureValue, .codeUsed)
        // Nothing stores the code itself.
        let events = try await broker.store.events(ticketID: 1)
        XCTAssertFalse(events.contains { $0.data.values.contains { $0.contains(code.digits) } })
    }

    func testRateLimitBlocksRightCodeUntilWindowPasses() async throws {
        let clock = ManualWallClock()
        let broker = try await makeBroker(clock: clock, limits: .init(perSource: 2, global: 100, window: 30))
        let (_, code) = try await broker.createSession(technician: "alice", ticketID: 1, scopes: [.shell], timeLimit: nil)
        for wrong in ["111111111", "222222222"] {
            let r = await broker.redeem(code: wrong, source: "10.1.1.1", agentUser: "x", agentHost: "y")
            XCTAssertEqual(r.failureValue, .codeUnknown)
        }
        let blocked = await broker.redeem(code: code.digits, source: "10.1.1.1", agentUser: "x", agentHost: "y")
        XCTAssertEqual(blocked.failureValue, .tooManyAttempts(retryAfterSeconds: 30))
        clock.advance(by: 31)
        let ok = await broker.redeem(code: code.digits, source: "10.1.1.1", agentUser: "x", agentHost: "y")
        XCTAssertNil(ok.failureValue)
    }

    /// A flood is one event per refused block and one summary with the count, not an event per guess.
    func testRefusalsBeyondTheLimitBecomeOneCountedEventPerSource() async throws {
        let clock = ManualWallClock()
        let broker = try await makeBroker(clock: clock, limits: .init(perSource: 3, global: 100, window: 60))
        let (_, code) = try await broker.createSession(technician: "alice", ticketID: 1, scopes: [.shell], timeLimit: nil)
        let before = try await broker.store.events(ticketID: 0).count
        for i in 0..<200 {
            let r = await broker.redeem(code: String(format: "%09d", 1 + i), source: "10.6.6.6", agentUser: "x", agentHost: "y")
            XCTAssertNotNil(r.failureValue)
        }
        await broker.journal.drain()
        let during = try await broker.store.events(ticketID: 0).dropFirst(before)
        XCTAssertEqual(during.map { $0.data["reason"] ?? "" }, ["unknown_code", "unknown_code", "unknown_code", "rate_limited"])
        // The right code from another address is not locked out by the flood.
        let other = await broker.redeem(code: code.digits, source: "10.7.7.7", agentUser: "jane", agentHost: "pc")
        XCTAssertNil(other.failureValue)
        clock.advance(by: 61)
        await broker.recordGuessSummaries()
        await broker.journal.drain()
        let counted = try await broker.store.events(ticketID: 0).filter { $0.kind == "join_refusals_counted" }
        XCTAssertEqual(counted.count, 1)
        XCTAssertEqual(counted.first?.data["count"], "196")
        XCTAssertEqual(counted.first?.actor, "agent@10.6.6.6")
    }

    /// A session that is over leaves the live registry, and what it was still answers from the store.
    func testSessionsThatAreOverLeaveTheRegistry() async throws {
        let clock = ManualWallClock()
        let broker = try await makeBroker(clock: clock)
        let (refused, refusedCode) = try await broker.createSession(technician: "alice", ticketID: 1, scopes: [.shell], timeLimit: nil)
        _ = await broker.redeem(code: refusedCode.digits, source: "127.0.0.1", agentUser: "jane", agentHost: "pc")
        _ = await broker.consent(refused, approved: false, actor: "jane@pc")
        let (expired, expiredCode) = try await broker.createSession(technician: "alice", ticketID: 1, scopes: [.shell], timeLimit: nil)
        clock.advance(by: 601)
        await broker.expireIfPending(expired)
        let liveAfter = await broker.liveSessionCount
        XCTAssertEqual(liveAfter, 0)
        let refusedOutcome = await broker.waitForOutcome(refused)
        XCTAssertEqual(refusedOutcome, .refused)
        let expiredOutcome = await broker.waitForOutcome(expired)
        XCTAssertEqual(expiredOutcome, .expired)
        // Their codes still read as used and expired, not unknown, and cost no guess.
        let reused = await broker.redeem(code: refusedCode.digits, source: "10.2.2.2", agentUser: "x", agentHost: "y")
        XCTAssertEqual(reused.failureValue, .codeUsed)
        let late = await broker.redeem(code: expiredCode.digits, source: "10.2.2.2", agentUser: "x", agentHost: "y")
        XCTAssertEqual(late.failureValue, .codeExpired)
    }

    func testRefusalWakesTheWaitingTechnician() async throws {
        let clock = ManualWallClock()
        let broker = try await makeBroker(clock: clock)
        let (id, code) = try await broker.createSession(technician: "alice", ticketID: 1, scopes: [.shell], timeLimit: nil)
        _ = await broker.redeem(code: code.digits, source: "127.0.0.1", agentUser: "jane", agentHost: "pc")
        async let outcome = broker.waitForOutcome(id)
        _ = await broker.consent(id, approved: false, actor: "jane@pc")
        let result = await outcome
        XCTAssertEqual(result, .refused)
        await broker.journal.drain()
        let v1 = try await broker.store.session(id: id)?.state
        XCTAssertEqual(v1, .refused)
    }

    func testChainsAreSignedEveryNEventsAndAtSessionEnd() async throws {
        let clock = ManualWallClock()
        let broker = try await makeBroker(clock: clock, checkpointEvery: 3)
        let (id, _) = try await broker.createSession(technician: "alice", ticketID: 1, scopes: [.shell], timeLimit: nil)
        let v2 = try await broker.store.checkpoints(chain: 1).isEmpty
        XCTAssertTrue(v2, "2 events: not yet")
        await broker.recordEvent(Exec(command: "true"), session: id, actor: "alice")
        let first = try await broker.store.checkpoints(chain: 1)
        XCTAssertEqual(first.map(\.seq), [3], "signed after the 3rd event")
        XCTAssertTrue(first[0].isValid(publicKey: broker.identity.auditKey.publicKey))
        await broker.recordEvent(Exec(command: "true"), session: id, actor: "alice")
        let ended = await broker.end(id, reason: "done", actor: "alice")
        let stored = await ended.stored()
        XCTAssertTrue(stored)
        let v3 = try await broker.store.checkpoints(chain: 1).last?.seq
        XCTAssertEqual(v3, 5, "signed again at the session's end")
        await broker.recordEvent(Exec(command: "late"), session: id, actor: "alice")
        await broker.checkpointAll()
        let v4 = try await broker.store.checkpoints(chain: 1).last?.seq
        XCTAssertEqual(v4, 6, "the interval timer signs what is left")
    }

    func testSessionsLeftOpenByAPreviousRunAreEndedOnStart() async throws {
        let clock = ManualWallClock()
        let first = try await makeBroker(clock: clock)
        let (id, _) = try await first.createSession(technician: "alice", ticketID: 1, scopes: [.shell], timeLimit: nil)
        let second = Broker(config: first.config, identity: first.identity, store: first.store, clock: clock, logger: Logger(label: "t"))
        await second.closeSessionsLeftOpen()
        await second.journal.drain()
        let v5 = try await first.store.session(id: id)?.state
        XCTAssertEqual(v5, .expired)
        let v6 = try await first.store.session(id: id)?.endReason
        XCTAssertEqual(v6, "broker restarted")
    }
}

extension Result {
    var failureValue: Failure? {
        if case .failure(let e) = self { return e }
        return nil
    }
}

extension BrokerPairingTests {
    /// Many wrong codes at once from one source: exactly the limit's worth are counted as guesses,
    /// the rest are refused as rate-limited; concurrency buys an attacker no extra tries.
    func testConcurrentWrongCodesGetNoMoreTriesThanTheLimit() async throws {
        let clock = ManualWallClock()
        let broker = try await makeBroker(clock: clock, limits: .init(perSource: 3, global: 1000, window: 60))
        let results = await withTaskGroup(of: TandemError?.self) { group in
            for i in 0..<50 {
                group.addTask {
                    await broker.redeem(code: String(format: "%09d", 100 + i), source: "10.9.9.9", agentUser: "x", agentHost: "y").failureValue
                }
            }
            var all: [TandemError?] = []
            for await r in group { all.append(r) }
            return all
        }
        XCTAssertEqual(results.filter { $0 == .codeUnknown }.count, 3, "\(results)")
        XCTAssertEqual(results.filter { if case .tooManyAttempts = $0 { return true } else { return false } }.count, 47)
        await broker.journal.drain()
        let refused = try await broker.store.events(ticketID: 0).filter { $0.kind == "join_refused" }.map { $0.data["reason"] ?? "" }
        XCTAssertEqual(refused, ["unknown_code", "unknown_code", "unknown_code", "rate_limited"])
    }
}
