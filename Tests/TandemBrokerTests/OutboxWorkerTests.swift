import Foundation
import Logging
import TandemAPI
import TandemAudit
@testable import TandemBroker
import TandemHelpdesk
import TandemStore
import TandemTestSupport
import XCTest

/// The outbox worker against the run's real Request Tracker (scripts/test.sh starts it) and a
/// real SQLite store: re-sends carry their first key, and a post the helpdesk holds is not made again.
final class OutboxWorkerTests: XCTestCase {
    func setting(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            throw StoreError.sql("\(name) is not set: scripts/test.sh starts Request Tracker for the helpdesk tests")
        }
        return value
    }

    /// curl as an RT user would: a new ticket, and the texts of its comments.
    func rt(_ args: [String]) throws -> String {
        let token = try String(contentsOfFile: try setting("TANDEM_TEST_RT_TOKEN_FILE"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        return try runToCompletion("/usr/bin/curl", ["-s", "--max-time", "20", "-H", "Authorization: token \(token)",
                                                     "-H", "Content-Type: application/json"] + args, timeout: 30).stdout
    }

    func testAReSendCarriesItsStoredKeyAndAPostTheHelpdeskHoldsIsNotMadeAgain() async throws {
        let url = try setting("TANDEM_TEST_RT")
        let created = try rt(["-d", #"{"Queue":"General","Subject":"Outbox worker"}"#, url + "/REST/2.0/ticket"])
        let rtTicket = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(created.utf8)) as? [String: Any])?["id"] as? String).flatMap { Int($0) }
        let ticketID = try XCTUnwrap(rtTicket)
        let comments = { () throws -> [String] in
            let page = try self.rt([url + "/REST/2.0/ticket/\(ticketID)/attachments?fields=Content&per_page=100"])
            let items = (try JSONSerialization.jsonObject(with: Data(page.utf8)) as? [String: Any])?["items"] as? [[String: Any]] ?? []
            return items.compactMap { $0["Content"] as? String }.filter { $0.contains("tandem-delivery: ") }
        }

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-outbox-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let store = try await SQLStore.sqlite(path: dir.appendingPathComponent("tandem.db").path)
        let http = HelpdeskHTTP()
        do {
            let sink = try RequestTracker(url: url, token: try String(contentsOfFile: try setting("TANDEM_TEST_RT_TOKEN_FILE"), encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines), http: http)
            let helpdesks = Helpdesks(noteSinks: [.rt: sink], batchInterval: 0)
            let log = AuditLog(store: store, routes: OutboxRoutes(helpdesks: ["rt"]))
            let ticket = try await store.createTicket(title: "Outbox worker", requester: "rt", createdBy: "alice", external: "rt:\(ticketID)", now: Date())
            try await log.append([Event(time: Date(), ticketID: ticket.id, sessionID: nil, actor: "alice", kind: "exec", data: ["command": "uptime"])])
            let worker = OutboxWorker(store: store, helpdesks: helpdesks, sink: "rt", logger: Logger(label: "test"))

            // As if an older broker had posted these rows under its own key and died before the answer.
            let rows = try await store.deliveries(chain: ticket.id)
            XCTAssertEqual(rows.count, 1)
            try await store.change(deliveries: rows.map(\.id), to: .sending(batch: "td1-from-an-older-broker"))
            let first = await worker.pass()
            XCTAssertTrue(first)
            let afterFirst = try comments()
            XCTAssertEqual(afterFirst.count, 1, "RT did not hold it, so it was posted")
            XCTAssertTrue(afterFirst.first?.contains("tandem-delivery: td1-from-an-older-broker") == true, "under the key it left with: \(afterFirst)")
            let delivered = try await store.deliveries(chain: ticket.id).map(\.state)
            XCTAssertEqual(delivered, [.delivered])

            // As if marking it delivered had failed: the next pass finds the post and does not make it again.
            try await store.change(deliveries: rows.map(\.id), to: .sending(batch: "td1-from-an-older-broker"))
            let second = await worker.pass()
            XCTAssertTrue(second)
            XCTAssertEqual(try comments().count, 1, "not posted twice")
            let again = try await store.deliveries(chain: ticket.id).map(\.state)
            XCTAssertEqual(again, [.delivered])
        } catch {
            await http.shutdown()
            await store.close()
            throw error
        }
        await http.shutdown()
        await store.close()
    }
}
