import Foundation
import XCTest

@testable import TandemFuzzing

/// Every input kept in `fuzz/regressions/<target>/` (seeds, and each crash the fuzzer found)
/// runs through its target in the normal suite: a crash once fixed stays fixed.
final class FuzzRegressionTests: XCTestCase {
    private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fuzz/regressions")

    func testEveryTargetHasInputsAndEachRunsToTheEnd() throws {
        for target in FuzzTarget.allCases {
            let dir = root.appendingPathComponent(target.rawValue)
            let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
            XCTAssertFalse(names.isEmpty, "\(target.rawValue) has no regression inputs")
            for name in names {
                let data = try Data(contentsOf: dir.appendingPathComponent(name))
                data.withUnsafeBytes { target.run($0) }
            }
        }
    }
}
