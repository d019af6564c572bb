import Foundation
import TandemCore
import XCTest

/// Issue 10: every program answers `--version`, with the one version string.
final class VersionTests: XCTestCase {
    func testEveryProgramPrintsItsVersion() throws {
        let dir = try Harness.scratch("version")
        for program in ["tandemd", "tandem", "tandem-agent", "tandem-loadgen"] {
            let r = try runTool(Harness.tool(program), ["--version"], in: dir)
            XCTAssertEqual(r.status, 0, "\(program): \(r.stderr)")
            XCTAssertEqual(r.stdout, TandemVersion.current + "\n", program)
        }
    }
}
