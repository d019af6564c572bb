import Foundation
@testable import TandemBroker
import TandemCore
import XCTest

/// What a replica reads first on a channel another replica opened: bounded, and refused clearly.
final class PeerLinkMessagesTests: XCTestCase {
    func testAnAgentForwardRoundTripsAndRefusesWhatIsNotOne() throws {
        let forward = AgentForward(session: "s-0123abcd", from: "2001:db8::7", via: "r-00ff00ff")
        XCTAssertEqual(try AgentForward.decode(forward.encoded), forward)
        let refusals: [(String, String)] = [
            (String(repeating: " ", count: AgentForward.maxBytes + 1), "longer than"),
            ("not json", "not the expected JSON"),
            (#"{"from":"1.2.3.4","session":"../../etc/passwd","via":"r-1"}"#, "out of bounds"),
            (#"{"from":"","session":"s-0123abcd","via":"r-1"}"#, "not an IP address"),
            (#"{"from":"1.2.3.4\u001b[2J","session":"s-0123abcd","via":"r-1"}"#, "not an IP address"),
            (#"{"from":"1.2.3.4","session":"s-0123abcd","via":"r-\u0007"}"#, "out of bounds"),
            (#"{"from":"1.2.3.4","session":"s-0123abcd","via":"\#(String(repeating: "r", count: 65))"}"#, "out of bounds"),
        ]
        for (text, why) in refusals {
            XCTAssertThrowsError(try AgentForward.decode(text)) { error in
                XCTAssertTrue("\(error)".contains(why), "\(text.prefix(40)): \(error)")
            }
        }
    }

    func testAnOnBehalfRequestIsBounded() throws {
        let behalf = OnBehalf(user: "alice", key: "SHA256:abc", from: "198.51.100.2:5555", target: nil, via: "r-1")
        XCTAssertEqual(try OnBehalf.decode(behalf.encoded), behalf)
        XCTAssertThrowsError(try OnBehalf.decode(#"{"user":"","from":"x","via":"r"}"#)) { XCTAssertTrue("\($0)".contains("out of bounds"), "\($0)") }
        XCTAssertThrowsError(try OnBehalf.decode(String(repeating: "a", count: OnBehalf.maxBytes + 1))) {
            XCTAssertTrue("\($0)".contains("longer than"), "\($0)")
        }
    }
}
