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

    /// The one-pass repair of raw bytes writes exactly what decoding them as a String (which
    /// repairs ill-formed UTF-8) and quoting that would: for every ill-formed shape, and for
    /// random bytes, random text and their mixtures.
    func testRepairingRawBytesMatchesStringDecoding() {
        func viaString(_ bytes: [UInt8]) -> [UInt8] {
            var out: [UInt8] = []
            JSONEscaping.appendQuoted(String(decoding: bytes, as: UTF8.self).utf8, to: &out)
            return out
        }
        func direct(_ bytes: [UInt8]) -> [UInt8] {
            var out: [UInt8] = []
            bytes.withUnsafeBufferPointer { JSONEscaping.appendQuotedRepairing($0, to: &out) }
            return out
        }
        let shapes: [[UInt8]] = [
            [], [0x41], [0x22, 0x5C, 0x0A, 0x0D, 0x09, 0x00, 0x1F, 0x7F], [0x80], [0xBF], [0xC0, 0x80], [0xC1, 0xBF], [0xC2], [0xC2, 0x41],
            [0xC3, 0xA9], [0xE0, 0x80, 0x80], [0xE0, 0xA0], [0xE0, 0xA0, 0x80], [0xE0, 0xA0, 0x41], [0xED, 0xA0, 0x80], [0xED, 0x9F, 0xBF],
            [0xEF, 0xBF, 0xBD], [0xF0, 0x8F, 0xBF, 0xBF], [0xF0, 0x90, 0x80], [0xF0, 0x90, 0x80, 0x80], [0xF4, 0x90, 0x80, 0x80],
            [0xF4, 0x8F, 0xBF, 0xBF], [0xF5, 0x80], [0xFF, 0xFE], [0xE2, 0x82], [0xE2, 0x82, 0xAC], Array("naïve 日本 🎉".utf8),
        ]
        for shape in shapes { XCTAssertEqual(direct(shape), viaString(shape), "\(shape)") }
        var generator = SystemRandomNumberGenerator()
        let alphabet: [[UInt8]] = [[0x41], [0x0A], [0x22], [0xC3, 0xA9], [0xE2, 0x82, 0xAC], [0xF0, 0x9F, 0x8E, 0x89], [0x80], [0xE2], [0xF0, 0x9F]]
        for round in 0..<2000 {
            var bytes: [UInt8] = []
            if round % 2 == 0 {
                bytes = (0..<Int.random(in: 0...64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            } else {
                for _ in 0..<Int.random(in: 0...24, using: &generator) { bytes += alphabet.randomElement(using: &generator) ?? [] }
            }
            XCTAssertEqual(direct(bytes), viaString(bytes), "\(bytes)")
        }
    }
}
