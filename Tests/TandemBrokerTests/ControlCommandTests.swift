import TandemCore
import XCTest

@testable import TandemBroker

final class ControlCommandTests: XCTestCase {
    func testParsesTheCommandsTheCLISends() throws {
        XCTAssertEqual(try ControlCommand.parse("ticket new 'Printer offline' --requester jane"),
                       .ticketNew(title: "Printer offline", requester: "jane"))
        XCTAssertEqual(try ControlCommand.parse("session new --ticket 12 --scope shell,files --time-limit 900"),
                       .sessionNew(ticket: 12, scopes: [.files, .shell], timeLimit: 900))
        XCTAssertEqual(try ControlCommand.parse("exec s-0123abcd -- ls -l 'a b' | wc -l"),
                       .exec(SessionID(rawValue: "s-0123abcd"), command: "ls -l 'a b' | wc -l"))
        XCTAssertEqual(try ControlCommand.parse("shell s-0123abcd"), .shell(SessionID(rawValue: "s-0123abcd")))
        XCTAssertEqual(try ControlCommand.parse(""), .help)
    }

    func testRejectsMalformedAndHostileCommands() {
        for bad in ["rm -rf /", "ticket show x", "session new --scope shell", "session new --ticket 1 --scope root",
                    "exec ../etc -- ls", "exec s-0123abcd --", "ticket new 'unterminated", "shell s-0123abcd extra",
                    "session new --ticket 1 --time-limit -5", String(repeating: "a", count: 20_000)] {
            XCTAssertThrowsError(try ControlCommand.parse(bad), bad)
        }
    }

    func testTokenizerHandlesQuotes() throws {
        XCTAssertEqual(try ControlCommand.tokenize(#"a "b c" 'd "e"' f\ g"#), ["a", "b c", #"d "e""#, "f g"])
    }
}
