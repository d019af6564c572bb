import TandemAPI
import TandemCore
import XCTest

@testable import TandemBroker

final class ControlRequestTests: XCTestCase {
    let s = SessionID(rawValue: "s-0123abcd")

    /// Every request the CLI can send reads back as itself, through the same reader the broker uses.
    func testEveryRequestSurvivesTheWire() throws {
        let all: [ControlRequest] = [
            .ticketNew(title: "Printer \"offline\"\n", requester: "jane"), .ticketList, .ticketShow(ticket: 12),
            .ticketAssign(ticket: 12, user: "bob"), .sessionNew(ticket: .number(12), scopes: [.files, .shell], timeLimit: 900),
            .sessionNew(ticket: .number(1), scopes: [.shell], timeLimit: nil), .sessionNew(ticket: .external(.rt, 1042), scopes: [.shell], timeLimit: nil),
            .sessionNew(ticket: .external(.redmine, 77), scopes: [.files], timeLimit: 60),
            .sessionNew(ticket: .number(3), scopes: [.shell], timeLimit: nil, idleLimit: 120),
            .ticketSyncStatus(ticket: 3), .ticketResync(ticket: 3), .auditVerify(ticket: 3, againstHelpdesk: true), .sessionShow(s), .sessionEnd(s), .shell(s),
            .exec(s, command: "ls -l 'a b' | wc -l"), .sftp(s), .auditLog(.ticket(3)), .auditLog(.session(s)),
            .auditVerify(ticket: 3), .auditExport(ticket: 3), .auditRecordings(s),
            .auditRecording(s, sha256: String(repeating: "ab", count: 32)), .tokenNew(name: "ci", expiresIn: 3600),
            .tokenList, .tokenRevoke(id: "tok_0011aabbccdd"), .whoami, .userList,
        ]
        for request in all {
            XCTAssertEqual(try AttachLine.request(request.json), request, request.json)
        }
        XCTAssertEqual(Set(all.map(\.operation)).count, 22, "every operation is covered")
    }

    func testRefusesMalformedAndHostileRequestsWithTheFieldNamed() {
        let cases: [(String, String)] = [
            (#"{"op":"rm -rf /"}"#, "unknown operation"),
            (#"{"op":"ticket.show","ticket":"x"}"#, "'ticket' has the wrong type"),
            (#"{"op":"ticket.show","ticket":0}"#, "ticket: a ticket number is 1 or more"),
            (#"{"op":"session.new","scopes":"shell"}"#, "needs 'ticket'"),
            (#"{"op":"session.new","ticket":"jira:5"}"#, "ticket takes a ticket number (42) or a helpdesk ticket"),
            (#"{"op":"session.new","ticket":"rt:0"}"#, "ticket takes a ticket number (42) or a helpdesk ticket"),
            (#"{"op":"session.new","ticket":"rt:1\u001b[2J"}"#, "ticket takes a ticket number (42) or a helpdesk ticket"),
            ("{\"op\":\"session.new\",\"ticket\":\"rt:" + String(repeating: "1", count: 100) + "\"}", "ticket takes a ticket number (42) or a helpdesk ticket"),
            (#"{"op":"audit.verify","ticket":1,"against_helpdesk":"yes"}"#, "'against_helpdesk' has the wrong type"),
            (#"{"op":"session.new","ticket":1,"scopes":"root"}"#, "scopes:"),
            (#"{"op":"session.new","ticket":1,"time_limit":-5}"#, "time_limit takes seconds"),
            (#"{"op":"session.new","ticket":1,"idle_limit":0}"#, "idle_limit takes seconds"),
            (#"{"op":"session.new","ticket":1,"idle_limit":86401}"#, "idle_limit takes seconds"),
            (#"{"op":"exec","session":"../etc","command":"ls"}"#, "session:"),
            (#"{"op":"session.end","session":"s-０１２３abcd"}"#, "is not a session id"),
            (#"{"op":"exec","session":"s-0123abcd","command":"  "}"#, "no command given"),
            (#"{"op":"audit.recording","session":"s-0123abcd","sha256":"ABCD"}"#, "64 lowercase hex"),
            (#"{"op":"token.new","expires_in":5}"#, "from 60 seconds"),
            (#"{"op":"ticket.new","title":"","requester":"j"}"#, "title takes 1 to 4096 bytes"),
            (#"{"op":"token.revoke","id":"tok_0011aabbccdd.c2VjcmV0c2VjcmV0"}"#, "without the part after the dot"),
            (#"{"op":"token.revoke","id":"../../etc"}"#, "a token id looks like"),
            (#"{"op":"ticket.list""#, "not valid JSON"),
            ("{" + String(repeating: " ", count: 70_000) + "}", "exceeds the 65536-byte limit"),
            (#"{"op":"exec","session":"s-0123abcd","command":"\#(String(repeating: "a", count: 17_000))"}"#, "at most 16384"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try AttachLine.request(text), text) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(text.prefix(80)): \(error)")
            }
        }
    }

    /// A stock ssh client's remote command reaches only the three relays, never a service.
    func testAttachLinesOfStockClients() throws {
        XCTAssertEqual(try AttachLine.request("exec s-0123abcd -- ls -l 'a b' | wc -l"), .exec(s, command: "ls -l 'a b' | wc -l"))
        XCTAssertEqual(try AttachLine.request("shell s-0123abcd"), .shell(s))
        XCTAssertEqual(try AttachLine.request("sftp  s-0123abcd"), .sftp(s))
        for bad in ["ticket list", "session end s-0123abcd", "", "exec ../etc -- ls", "exec s-0123abcd --", "shell s-0123abcd extra",
                    "help", String(repeating: "a", count: 70_000)] {
            XCTAssertThrowsError(try AttachLine.request(bad), String(bad.prefix(40)))
        }
    }
}
