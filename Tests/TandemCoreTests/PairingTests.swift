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
            XCTAssertNil(limiter.blockedFor(source: "10.0.0.1", now: clock.now))
            limiter.recordFailure(source: "10.0.0.1", now: clock.now)
            clock.advance(by: 1)
        }
        XCTAssertNotNil(limiter.blockedFor(source: "10.0.0.1", now: clock.now))
        XCTAssertNil(limiter.blockedFor(source: "10.0.0.2", now: clock.now), "other sources are not punished")
        clock.advance(by: 58)
        XCTAssertNil(limiter.blockedFor(source: "10.0.0.1", now: clock.now), "the oldest failure left the window")
    }

    func testGlobalLimitProtectsAgainstManySources() {
        let clock = ManualWallClock()
        var limiter = GuessLimiter(limits: .init(perSource: 100, global: 5, window: 60))
        for i in 0..<5 { limiter.recordFailure(source: "10.0.0.\(i)", now: clock.now) }
        XCTAssertEqual(limiter.blockedFor(source: "10.9.9.9", now: clock.now), 60)
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
