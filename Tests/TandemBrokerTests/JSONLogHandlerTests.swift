import Foundation
import Logging
import TandemBroker
import XCTest

/// A log line in `log-format = json` stays one line and one object, whatever foreign text it carries.
final class JSONLogHandlerTests: XCTestCase {
    func testForeignTextCannotBreakALineOrForgeAField() throws {
        let pipe = Pipe()
        let saved = dup(2)
        dup2(pipe.fileHandleForWriting.fileDescriptor, 2)
        var logger = Logger(label: "tandemd") { JSONLogHandler(label: $0) }
        logger.logLevel = .info
        let hostile = "jane\n{\"level\":\"critical\"}\u{1b}[31m\"}"
        logger.info("join from \(hostile) refused", metadata: ["session": "s-1", "actor": .string(hostile)])
        dup2(saved, 2)
        close(saved)
        try pipe.fileHandleForWriting.close()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let lines = text.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, text)
        let object = try JSONDecoder().decode([String: String].self, from: Data(lines[0].utf8))
        XCTAssertEqual(object["level"], "info")
        XCTAssertEqual(object["actor"], hostile, "kept exactly, as an escaped string")
        XCTAssertEqual(object["message"], "join from \(hostile) refused")
        XCTAssertEqual(object["session"], "s-1")
        XCTAssertFalse(text.contains("\u{1b}"), "the escape character is written as \\u001b")
    }
}
