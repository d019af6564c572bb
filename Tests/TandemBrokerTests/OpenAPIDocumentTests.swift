import Foundation
import XCTest

@testable import TandemBroker

/// docs/openapi.yaml and the routes the broker serves stay in step: the same methods on the same paths.
final class OpenAPIDocumentTests: XCTestCase {
    /// `(METHOD, /path/{param})` for each operation in the document, read from its layout
    /// (paths at two spaces, methods at four): enough for a file we write ourselves.
    private func documented() throws -> Set<String> {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/openapi.yaml")
        let text = try String(contentsOf: url, encoding: .utf8)
        var operations: Set<String> = []
        var path: String?
        var inPaths = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "paths:" { inPaths = true; continue }
            if inPaths, !line.hasPrefix(" "), !line.isEmpty { break }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") { path = String(line.dropFirst(2).dropLast()) }
            for method in ["get", "post", "put", "delete", "patch"] where line == "    \(method):" {
                operations.insert("\(method.uppercased()) \(path ?? "?")")
            }
        }
        return operations
    }

    func testTheDocumentDescribesExactlyTheRoutesServed() throws {
        var served = Set(APIRoutes.table.map { route in
            let path = route.path.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(separator: "/")
            return "\(route.method.rawValue) /\(path)"
        })
        served.insert("GET /metrics")
        let documented = try documented()
        XCTAssertEqual(documented.count, 21)
        XCTAssertEqual(served.subtracting(documented), [], "served but not documented")
        XCTAssertEqual(documented.subtracting(served), [], "documented but not served")
    }
}
