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

    func testConnectionsPastTheLimitAreRefusedAndEachCloseFreesOne() {
        let open = OpenConnections()
        XCTAssertEqual((0..<5).map { _ in open.enter(limit: 3) }, [true, true, true, false, false])
        XCTAssertEqual(open.value, 3)
        open.leave()
        XCTAssertTrue(open.enter(limit: 3))
        XCTAssertFalse(open.enter(limit: 3))
    }
}
