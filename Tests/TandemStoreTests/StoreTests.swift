import Foundation
import TandemCore
import TandemStore
import XCTest

final class StoreTests: XCTestCase {
    private func tempPath() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent("tandem.db").path
    }

    func testDatabaseIsWALAndSurvivesReopening() throws {
        let path = try tempPath()
        do {
            let store = try Store(path: path)
            XCTAssertEqual(try store.journalMode(), "wal")
            XCTAssertEqual(try store.synchronousLevel(), 2, "synchronous=FULL: acknowledged events survive a crash")
            let t = try store.createTicket(title: "Printer offline", requester: "jane", now: Date())
            try store.append(Event(time: Date(), ticketID: t.id, sessionID: nil, actor: "alice", kind: "ticket_created", data: ["title": "Printer offline"]))
        }
        let reopened = try Store(path: path)
        XCTAssertEqual(try reopened.tickets().map(\.title), ["Printer offline"])
        let events = try reopened.events(ticketID: 1)
        XCTAssertEqual(events.map(\.kind), ["ticket_created"])
        XCTAssertEqual(events.first?.data["title"], "Printer offline")
    }

    func testSessionsAreFoundByCodeHashAndCodeHashesAreUnique() throws {
        let store = try Store(path: try tempPath())
        let ticket = try store.createTicket(title: "VPN", requester: "sam", now: Date())
        let now = Date()
        let record = SessionRecord(id: SessionID(rawValue: "s-0000abcd"), ticketID: ticket.id, technician: "alice", scopes: [.shell],
                                   codeHash: "h1", state: .pending, created: now, expires: now.addingTimeInterval(600),
                                   timeLimitSeconds: 3600, endReason: nil)
        try store.createSession(record)
        XCTAssertEqual(try store.session(codeHash: "h1")?.id, record.id)
        XCTAssertNil(try store.session(codeHash: "nope"))
        var dup = record
        dup.id = SessionID(rawValue: "s-0000abce")
        XCTAssertThrowsError(try store.createSession(dup))
        try store.updateSession(record.id, state: .ended, endReason: "done")
        XCTAssertEqual(try store.session(id: record.id)?.state, .ended)
        XCTAssertEqual(try store.session(id: record.id)?.endReason, "done")
    }

    func testHostileTextIsStoredAsData() throws {
        let store = try Store(path: try tempPath())
        let evil = "'); DROP TABLE events; --"
        let t = try store.createTicket(title: evil, requester: evil, now: Date())
        try store.append(Event(time: Date(), ticketID: t.id, sessionID: evil, actor: evil, kind: "exec", data: ["command": evil]))
        XCTAssertEqual(try store.ticket(id: t.id)?.title, evil)
        XCTAssertEqual(try store.events(sessionID: evil).first?.data["command"], evil)
    }

    func testUsersHaveKeysAndALifecycle() throws {
        let store = try Store(path: try tempPath())
        try store.addUser(name: "alice", role: .technician, publicKey: "ssh-ed25519 AAAA alice@laptop", now: Date())
        XCTAssertEqual(try store.user(named: "alice"), User(name: "alice", role: .technician, publicKeys: ["ssh-ed25519 AAAA"]))
        XCTAssertThrowsError(try store.addUser(name: "alice", role: .admin, publicKey: "ssh-ed25519 BBBB", now: Date()))
        try store.addKey("ssh-ed25519 BBBB second", to: "alice", now: Date().addingTimeInterval(1))
        XCTAssertEqual(try store.user(named: "alice")?.publicKeys, ["ssh-ed25519 AAAA", "ssh-ed25519 BBBB"])
        XCTAssertTrue(try store.removeKey("ssh-ed25519 AAAA other-comment", from: "alice"), "keys compare without their comment")
        XCTAssertFalse(try store.removeKey("ssh-ed25519 AAAA", from: "alice"))
        try store.setStatus(of: "alice", to: .disabled)
        XCTAssertEqual(try store.inactiveUsers(), ["alice": .disabled])
        try store.setStatus(of: "alice", to: .removed)
        XCTAssertEqual(try store.user(named: "alice")?.publicKeys, [], "a removed user's keys are gone")
        XCTAssertEqual(try store.user(named: "alice")?.status, .removed)
    }

    func testATechnicianSeesTicketsTheyCreatedOrWereAssigned() throws {
        let store = try Store(path: try tempPath())
        let mine = try store.createTicket(title: "Mine", requester: "x", createdBy: "alice", now: Date())
        let given = try store.createTicket(title: "Given", requester: "x", createdBy: "bob", now: Date())
        _ = try store.createTicket(title: "Other", requester: "x", createdBy: "bob", now: Date())
        try store.assign(ticket: given.id, to: "alice", by: "bob", now: Date())
        try store.assign(ticket: given.id, to: "alice", by: "bob", now: Date())
        XCTAssertEqual(try store.tickets(visibleTo: "alice").map(\.id), [mine.id, given.id])
        XCTAssertEqual(try store.assignees(ticket: given.id), ["alice"])
        XCTAssertEqual(try store.tickets().count, 3)
    }
}
