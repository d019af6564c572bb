import XCTest

@testable import TandemCore

final class RemoteNameTests: XCTestCase {
    func testOnlyPlainPathComponentsPass() {
        XCTAssertNil(RemoteName.problem("report.pdf"))
        XCTAssertNil(RemoteName.problem("..hidden"))
        XCTAssertNil(RemoteName.problem("…"))
        XCTAssertEqual(RemoteName.problem(""), .empty)
        XCTAssertEqual(RemoteName.problem("."), .dot)
        XCTAssertEqual(RemoteName.problem(".."), .dotDot)
        XCTAssertEqual(RemoteName.problem("../x"), .slash)
        XCTAssertEqual(RemoteName.problem("a/b"), .slash)
        XCTAssertEqual(RemoteName.problem("a\0b"), .nul)
        XCTAssertEqual(RemoteName.problem(String(repeating: "é", count: 128)), .tooLong, "256 bytes")
    }

    func testLinksMustResolveInsideTheCopy() {
        XCTAssertTrue(RemoteName.linkStaysInside(target: "a/b/c.txt", depth: 0))
        XCTAssertTrue(RemoteName.linkStaysInside(target: "../ok.txt", depth: 1))
        XCTAssertTrue(RemoteName.linkStaysInside(target: "./x", depth: 0))
        XCTAssertTrue(RemoteName.linkStaysInside(target: ".", depth: 0))
        XCTAssertFalse(RemoteName.linkStaysInside(target: "/etc", depth: 3))
        XCTAssertFalse(RemoteName.linkStaysInside(target: "..", depth: 0))
        XCTAssertFalse(RemoteName.linkStaysInside(target: "../../x", depth: 1))
        XCTAssertFalse(RemoteName.linkStaysInside(target: "", depth: 0))
    }

    /// `a -> .` is harmless alone, but then `a/a/../..` climbs from the root in two steps that
    /// text counting would place inside: `..` after a name is refused outright.
    func testDotDotAfterANameIsRefusedSoChainedLinksCannotClimbOut() {
        XCTAssertTrue(RemoteName.linkStaysInside(target: ".", depth: 0))
        XCTAssertFalse(RemoteName.linkStaysInside(target: "a/a/../../etc", depth: 0))
        XCTAssertFalse(RemoteName.linkStaysInside(target: "sub/../x", depth: 2))
        XCTAssertTrue(RemoteName.linkStaysInside(target: "../../a/b", depth: 2))
    }
}
