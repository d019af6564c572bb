import Foundation
import XCTest

@testable import TandemAudit
import TandemText

final class TextEncodingTests: XCTestCase {
    func testQuotedStringsAreValidJSONThatRoundTrips() throws {
        let samples = ["plain", "quote \" and \\ backslash", "tab\tnew\nline\r", "bell \u{7} nul \u{0} esc \u{1b}[0m", "€ é 日本 🙂", ""]
        for s in samples {
            var out: [UInt8] = []
            JSONEscaping.appendQuoted(s.utf8, to: &out)
            let back = try JSONSerialization.jsonObject(with: Data(out), options: [.fragmentsAllowed]) as? String
            XCTAssertEqual(back, s)
        }
        var esc: [UInt8] = []
        JSONEscaping.appendQuoted([0x1b], to: &esc)
        XCTAssertEqual(String(decoding: esc, as: UTF8.self), "\"\\u001b\"", "lower-case hex, as the audit format fixes")
    }

    func testCompletePrefixNeverSplitsACharacter() {
        let euro = Array("€".utf8), smile = Array("🙂".utf8)
        XCTAssertEqual(UTF8Boundary.completePrefix(Array("abc".utf8)), 3)
        XCTAssertEqual(UTF8Boundary.completePrefix([UInt8]()), 0)
        XCTAssertEqual(UTF8Boundary.completePrefix(Array("a".utf8) + euro), 4)
        XCTAssertEqual(UTF8Boundary.completePrefix(Array("a".utf8) + euro[0..<1]), 1)
        XCTAssertEqual(UTF8Boundary.completePrefix(Array("a".utf8) + euro[0..<2]), 1)
        XCTAssertEqual(UTF8Boundary.completePrefix(Array("ab".utf8) + smile[0..<3]), 2)
        XCTAssertEqual(UTF8Boundary.completePrefix(smile), 4)
        // Invalid bytes are not held back forever: the decoder replaces them.
        XCTAssertEqual(UTF8Boundary.completePrefix([0x80, 0x80, 0x80, 0x80, 0x80]), 5)
        XCTAssertEqual(UTF8Boundary.completePrefix([0x41, 0xff]), 2)
    }
}
