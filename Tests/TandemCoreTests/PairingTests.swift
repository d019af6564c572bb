import Crypto
import Foundation
import TandemCore
import XCTest

final class SessionCodeTests: XCTestCase {
    func testCodesAreNineDigitsGroupedForReadingAloud() throws {
        let code = SessionCode(digits: "482913705")
        XCTAssertEqual(code.grouped, "482 913 705")
        XCTAssertEqual(try SessionCode.parse("482 913 705"), code)
        XCTAssertEqual(try SessionCode.parse("482-913-705"), code)
        for _ in 0..<100 {
            let random = SessionCode.random()
            XCTAssertEqual(random.digits.count, 9)
            XCTAssertTrue(random.digits.allSatisfy(\.isNumber))
        }
    }

    func testMalformedCodesAreRejected() {
        for bad in ["", "12345678", "1234567890", "48291370x", "４８２９１３７０５", "482 913 70; rm"] {
            XCTAssertThrowsError(try SessionCode.parse(bad), bad)
        }
    }

    func testHashIsKeyedSoTheSameCodeHashesDifferentlyPerBroker() {
        let code = SessionCode(digits: "000000042")
        let a = code.hash(key: SymmetricKey(size: .bits256))
        let b = code.hash(key: SymmetricKey(size: .bits256))
        XCTAssertNotEqual(a, b)
        XCTAssertFalse(a.contains("000000042"))
        XCTAssertEqual(a.count, 64)
    }
}

final class GuessLimiterTests: XCTestCase {
    func testSourceIsBlockedAfterLimitUntilWindowPasses() {
        let clock = ManualWallClock()
        var limiter = GuessLimiter(limits: .init(perSource: 3, global: 100, window: 60))
        for _ in 0..<3 {
            XCTAssertEqual(limiter.admit(source: "10.0.0.1", now: clock.now), .allowed)
            limiter.recordFailure(source: "10.0.0.1", now: clock.now)
            clock.advance(by: 1)
        }
        XCTAssertEqual(limiter.admit(source: "10.0.0.1", now: clock.now), .refused(retryAfterSeconds: 57, firstOfBlock: true))
        XCTAssertEqual(limiter.admit(source: "10.0.0.2", now: clock.now), .allowed, "other sources are not punished")
        clock.advance(by: 58)
        XCTAssertEqual(limiter.admit(source: "10.0.0.1", now: clock.now), .allowed, "the oldest failure left the window")
    }

    /// Over the broker-wide limit, sources that guessed wrong are refused, a fresh source is not.
    func testGlobalLimitSlowsManySourcesWithoutLockingOutAFreshOne() {
        let clock = ManualWallClock()
        var limiter = GuessLimiter(limits: .init(perSource: 100, global: 5, window: 60))
        for i in 0..<5 { limiter.recordFailure(source: "10.0.0.\(i)", now: clock.now) }
        XCTAssertEqual(limiter.admit(source: "10.0.0.1", now: clock.now), .refused(retryAfterSeconds: 60, firstOfBlock: true))
        XCTAssertEqual(limiter.admit(source: "10.9.9.9", now: clock.now), .allowed, "a user with the right code still gets in")
        limiter.recordFailure(source: "10.9.9.9", now: clock.now)
        XCTAssertEqual(limiter.admit(source: "10.9.9.9", now: clock.now), .refused(retryAfterSeconds: 60, firstOfBlock: true),
                       "but one wrong guess is all a new source gets while the broker is flooded")
    }

    /// One recorded refusal per block; the rest come back as one summary with the count.
    func testRefusalsBeyondTheLimitAreCountedAndSummarisedOnce() {
        let clock = ManualWallClock()
        var limiter = GuessLimiter(limits: .init(perSource: 2, global: 100, window: 30))
        limiter.recordFailure(source: "a", now: clock.now)
        limiter.recordFailure(source: "a", now: clock.now)
        var firsts = 0
        for _ in 0..<200 {
            if case .refused(_, let first) = limiter.admit(source: "a", now: clock.now), first { firsts += 1 }
            clock.advance(by: 0.1)
        }
        XCTAssertEqual(firsts, 1)
        XCTAssertEqual(limiter.takeSummaries(now: clock.now), [], "still blocked: nothing to summarise yet")
        clock.advance(by: 15)
        let summaries = limiter.takeSummaries(now: clock.now)
        XCTAssertEqual(summaries.map(\.source), ["a"])
        XCTAssertEqual(summaries.first?.count, 199)
        XCTAssertEqual(limiter.takeSummaries(now: clock.now), [], "each block is summarised once")
    }

    func testIPv6SourcesAreCountedByTheirSlash64() {
        XCTAssertEqual(GuessLimiter.sourceKey("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64")
        XCTAssertEqual(GuessLimiter.sourceKey("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64")
        XCTAssertEqual(GuessLimiter.sourceKey("::ffff:192.0.2.7"), "192.0.2.7")
        XCTAssertEqual(GuessLimiter.sourceKey("192.0.2.7"), "192.0.2.7")
        XCTAssertEqual(GuessLimiter.sourceKey("unknown"), "unknown")
    }

    /// Pruning pops what expired: thousands of sources leave nothing behind once their window passed.
    func testFailuresLeaveTheWindowInOrder() {
        let clock = ManualWallClock()
        var limiter = GuessLimiter(limits: .init(perSource: 2, global: 1_000_000, window: 10))
        for i in 0..<5_000 { limiter.recordFailure(source: "10.0.\(i / 250).\(i % 250)", now: clock.now) }
        XCTAssertEqual(limiter.failures(of: "10.0.0.1"), 1)
        clock.advance(by: 11)
        XCTAssertEqual(limiter.admit(source: "10.0.0.1", now: clock.now), .allowed)
        XCTAssertEqual(limiter.failures(of: "10.0.0.1"), 0)
    }

    func testShutdownTakesTheSummariesOfBlocksStillRunning() {
        let clock = ManualWallClock()
        var limiter = GuessLimiter(limits: .init(perSource: 1, global: 100, window: 30))
        limiter.recordFailure(source: "a", now: clock.now)
        for _ in 0..<3 { _ = limiter.admit(source: "a", now: clock.now) }
        XCTAssertEqual(limiter.takeSummaries(now: clock.now, all: true).first?.count, 2)
    }
}

final class SessionLifecycleTests: XCTestCase {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    func testHappyPath() {
        var s = SessionLifecycle(expiresAt: start.addingTimeInterval(600))
        XCTAssertEqual(s.redeem(now: start), .sendOffer)
        XCTAssertEqual(s.consent(true), .openSSH)
        XCTAssertEqual(s.sshEstablished(), .announceActive)
        XCTAssertEqual(s.end(reason: "done"), .close(reason: "done"))
        XCTAssertEqual(s.state, .ended)
        XCTAssertEqual(s.end(reason: "again"), .none)
    }

    func testCodeIsSingleUseAndExpires() {
        var s = SessionLifecycle(expiresAt: start.addingTimeInterval(600))
        XCTAssertEqual(s.redeem(now: start), .sendOffer)
        XCTAssertEqual(s.redeem(now: start), .reject(.codeUsed))
        var late = SessionLifecycle(expiresAt: start.addingTimeInterval(600))
        XCTAssertEqual(late.redeem(now: start.addingTimeInterval(600)), .reject(.codeExpired))
        XCTAssertEqual(late.state, .expired)
        XCTAssertEqual(late.redeem(now: start), .reject(.codeExpired))
    }

    func testRefusalIsFinalAndConsentOutsideAnOfferIsAViolation() {
        var s = SessionLifecycle(expiresAt: start.addingTimeInterval(600))
        XCTAssertEqual(s.consent(true), .reject(.protocolViolation("consent outside an offer")))
        _ = s.redeem(now: start)
        XCTAssertEqual(s.consent(false), .notifyRefused)
        XCTAssertEqual(s.state, .refused)
        XCTAssertEqual(s.sshEstablished(), .none)
        XCTAssertEqual(s.redeem(now: start), .reject(.codeUsed))
    }

    func testReaperExpiresOnlyPendingSessions() {
        var s = SessionLifecycle(expiresAt: start.addingTimeInterval(10))
        XCTAssertFalse(s.expireIfDue(now: start))
        XCTAssertTrue(s.expireIfDue(now: start.addingTimeInterval(10)))
        var active = SessionLifecycle(expiresAt: start.addingTimeInterval(10))
        _ = active.redeem(now: start)
        XCTAssertFalse(active.expireIfDue(now: start.addingTimeInterval(100)))
    }
}
