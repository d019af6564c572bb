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

    func testUsers() throws {
        let store = try Store(path: try tempPath())
        try store.addUser(User(name: "alice", role: .technician, publicKey: "ssh-ed25519 AAAA alice"))
        XCTAssertEqual(try store.user(named: "alice")?.role, .technician)
        XCTAssertThrowsError(try store.addUser(User(name: "alice", role: .admin, publicKey: "x")))
    }
}
