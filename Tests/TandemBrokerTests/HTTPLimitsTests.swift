import Foundation
import XCTest

@testable import TandemBroker

/// The HTTP side's own limits: refusals logged per source and minute, connections at once.
final class HTTPLimitsTests: XCTestCase {
    func testRefusalsAreLoggedTwentyAMinutePerSourceThenOnceSaidThenQuiet() {
        let budget = RefusalLogBudget()
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let verdicts = (0..<25).map { _ in budget.admit("192.0.2.7", now: now) }
        XCTAssertEqual(verdicts.filter { $0 == .log }.count, RefusalLogBudget.perMinute)
        XCTAssertEqual(verdicts[RefusalLogBudget.perMinute], .lastOne)
        XCTAssertEqual(verdicts.suffix(4), [.quiet, .quiet, .quiet, .quiet])
        XCTAssertEqual(budget.admit("192.0.2.8", now: now), .log, "another source has its own budget")
        XCTAssertEqual(budget.admit("192.0.2.7", now: now.addingTimeInterval(60)), .log, "a new minute, a new budget")
    }

    func testManySourcesTogetherAreHeldToOneBudget() {
        let budget = RefusalLogBudget()
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let verdicts = (0..<300).map { budget.admit("2001:db8::\($0)", now: now) }
        XCTAssertEqual(verdicts.filter { $0 == .log }.count, RefusalLogBudget.allPerMinute)
        XCTAssertEqual(verdicts.filter { $0 == .lastOne }.count, 1)
    }

    func testAWholeTokenInAPathIsCutToItsPublicPartForTheLog() {
        XCTAssertEqual(RefusalLogBudget.redacted("/v1/tokens/tok_0123456789ab.c2VjcmV0LXNlY3JldA"), "/v1/tokens/tok_0123456789ab.…")
        XCTAssertEqual(RefusalLogBudget.redacted("/v1/tokens/tok_0123456789ab"), "/v1/tokens/tok_0123456789ab")
    }

    func testConnectionsPastTheLimitsAreRefusedAndEachCloseFreesOne() {
        let open = OpenConnections()
        XCTAssertEqual((0..<4).map { _ in open.enter("a", limit: 5, perSource: 2) }, [true, true, false, false], "two from one address")
        XCTAssertEqual((0..<4).map { _ in open.enter("b", limit: 5, perSource: 3) }, [true, true, true, false], "five in all")
        XCTAssertEqual(open.value, 5)
        XCTAssertFalse(open.enter("c", limit: 5, perSource: 3), "a third address finds no room")
        open.leave("a")
        XCTAssertTrue(open.enter("c", limit: 5, perSource: 3))
        XCTAssertFalse(open.enter("a", limit: 5, perSource: 3))
        open.leave("b")
        XCTAssertTrue(open.enter("a", limit: 5, perSource: 2), "a's own count went down to one")
    }
}
