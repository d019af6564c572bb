@preconcurrency import Crypto
import Foundation
import Glibc
import Logging
import TandemAudit
import TandemCore
import TandemStore
import XCTest

/// What every engine behind `BrokerStore` must do. Each engine's class runs every check
/// (`testX` calls `checkX`), so the list of tests names the engine each ran on.
class StoreConformanceTests: XCTestCase {
    /// A fresh, empty store of the engine under test (subclasses).
    func makeStore() async throws -> any BrokerStore {
        throw StoreError.sql("each engine's subclass makes its store")
    }

    private func withStore(_ body: (any BrokerStore) async throws -> Void) async throws {
        let store = try await makeStore()
        do {
            try await body(store)
            await store.close()
        } catch {
            await store.close()
            throw error
        }
    }

    func checkTicketsAndWhoSeesThem() async throws {
        try await withStore { store in
            let mine = try await store.createTicket(title: "Mine", requester: "x", createdBy: "alice", now: Date())
            let given = try await store.createTicket(title: "Given", requester: "x", createdBy: "bob", now: Date())
            _ = try await store.createTicket(title: "Other", requester: "x", createdBy: "bob", now: Date())
            try await store.assign(ticket: given.id, to: "alice", by: "bob", now: Date())
            try await store.assign(ticket: given.id, to: "alice", by: "bob", now: Date())
            let v1 = try await store.tickets(visibleTo: "alice").map(\.id)
            XCTAssertEqual(v1, [mine.id, given.id])
            let v2 = try await store.assignees(ticket: given.id)
            XCTAssertEqual(v2, ["alice"])
            let v3 = try await store.tickets().count
            XCTAssertEqual(v3, 3)
            let v4 = try await store.ticket(id: mine.id)?.createdBy
            XCTAssertEqual(v4, "alice")
            let missing = try await store.ticket(id: 999)
            XCTAssertNil(missing)
        }
    }

    func checkSessionsAreFoundByCodeHashAndCodeHashesAreUnique() async throws {
        try await withStore { store in
            let ticket = try await store.createTicket(title: "VPN", requester: "sam", now: Date())
            let now = Date(timeIntervalSince1970: 1_800_000_000.25)
            let record = SessionRecord(id: SessionID(rawValue: "s-0000abcd"), ticketID: ticket.id, technician: "alice", scopes: [.files, .shell],
                                       codeHash: "h1", state: .pending, created: now, expires: now.addingTimeInterval(600),
                                       timeLimitSeconds: 3600, endReason: nil)
            try await store.createSession(record)
            let v5 = try await store.session(codeHash: "h1")
            XCTAssertEqual(v5, record, "read back exactly, times and scopes included")
            let none = try await store.session(codeHash: "nope")
            XCTAssertNil(none)
            var dup = record
            dup.id = SessionID(rawValue: "s-0000abce")
            do {
                try await store.createSession(dup)
                XCTFail("a second session with the same code hash was stored")
            } catch StoreError.constraint {
                // Refused as a constraint, whatever the engine's words.
            }
            let v6 = try await store.openSessions().map(\.id)
            XCTAssertEqual(v6, [record.id])
            try await store.updateSession(record.id, state: .active)
            try await store.updateSession(record.id, state: .ended, endReason: "done")
            try await store.updateSession(record.id, state: .ended)
            let ended = try await store.session(id: record.id)
            XCTAssertEqual(ended?.state, .ended)
            XCTAssertEqual(ended?.endReason, "done", "a later update without a reason keeps it")
            let v7 = try await store.openSessions().count
            XCTAssertEqual(v7, 0)
        }
    }

    func checkHostileTextIsStoredAsData() async throws {
        try await withStore { store in
            let evil = "'); DROP TABLE events; -- \u{1b}[31m ü \\ \" %s $1 ?"
            let t = try await store.createTicket(title: evil, requester: evil, now: Date())
            try await AuditLog(store: store).append(Event(time: Date(), ticketID: t.id, sessionID: evil, actor: evil, kind: "exec", data: ["command": evil]))
            let v8 = try await store.ticket(id: t.id)?.title
            XCTAssertEqual(v8, evil)
            let v9 = try await store.events(sessionID: evil).first?.data["command"]
            XCTAssertEqual(v9, evil)
            // An agent may send NUL in its user or host name: stored as U+FFFD, and what is stored is what was hashed.
            let nul = try await AuditLog(store: store).append(Event(time: Date(), ticketID: t.id, sessionID: nil, actor: "jane\u{0}@pc",
                                                                   kind: "join_accepted", data: ["source": "a\u{0}b"]))
            let back = try await store.events(ticketID: t.id).last
            XCTAssertEqual(back?.actor, "jane\u{FFFD}@pc")
            XCTAssertEqual(back?.data["source"], "a\u{0}b", "data is JSON: NUL kept, escaped")
            XCTAssertEqual(back?.hash, nul.hash)
            XCTAssertEqual(back?.computeHash(), back?.hash)
            try await store.addUser(name: evil, role: .auditor, publicKey: "ssh-ed25519 AAAA", now: Date())
            let v10 = try await store.user(named: evil)?.name
            XCTAssertEqual(v10, evil)
        }
    }

    func checkUsersHaveKeysAndALifecycle() async throws {
        try await withStore { store in
            try await store.addUser(name: "alice", role: .technician, publicKey: "ssh-ed25519 AAAA alice@laptop", now: Date())
            let v11 = try await store.user(named: "alice")
            XCTAssertEqual(v11, User(name: "alice", role: .technician, publicKeys: ["ssh-ed25519 AAAA"]))
            do {
                try await store.addUser(name: "alice", role: .admin, publicKey: "ssh-ed25519 BBBB", now: Date())
                XCTFail("a second alice was stored")
            } catch {}
            try await store.addKey("ssh-ed25519 BBBB second", to: "alice", now: Date().addingTimeInterval(1))
            let v12 = try await store.user(named: "alice")?.publicKeys
            XCTAssertEqual(v12, ["ssh-ed25519 AAAA", "ssh-ed25519 BBBB"])
            let v13 = try await store.removeKey("ssh-ed25519 AAAA other-comment", from: "alice")
            XCTAssertTrue(v13, "keys compare without their comment")
            let v14 = try await store.removeKey("ssh-ed25519 AAAA", from: "alice")
            XCTAssertFalse(v14)
            try await store.setStatus(of: "alice", to: .disabled)
            let v15 = try await store.inactiveUsers()
            XCTAssertEqual(v15, ["alice": .disabled])
            try await store.setStatus(of: "alice", to: .removed)
            let v16 = try await store.user(named: "alice")?.publicKeys
            XCTAssertEqual(v16, [], "a removed user's keys are gone")
            let v17 = try await store.user(named: "alice")?.status
            XCTAssertEqual(v17, .removed)
            let v18 = try await store.users().map(\.name)
            XCTAssertEqual(v18, ["alice"])
        }
    }

    func checkTheAuditLogLinksChainsAndTheStoreRefusesAStaleHead() async throws {
        try await withStore { store in
            let log = AuditLog(store: store)
            let t = try await store.createTicket(title: "Chain", requester: "x", now: Date())
            let e = { (kind: String, ticket: Int?) in Event(time: Date(), ticketID: ticket, sessionID: nil, actor: "a", kind: kind) }
            let first = try await log.append([e("one", t.id), e("broker", nil), e("two", t.id)])
            XCTAssertEqual(first.map(\.seq), [1, 1, 2])
            XCTAssertEqual(first.map(\.id), [1, 2, 3], "ids are global and in order")
            XCTAssertEqual(first[2].prev, first[0].hash)
            XCTAssertTrue(first.allSatisfy { $0.hash == $0.computeHash() })

            // Another writer (a second log: an operator's command, another broker) appends behind our back.
            try await AuditLog(store: store).append(e("theirs", t.id))
            let stale = LinkedBatch(events: [], after: [t.id: ChainHead(seq: first[2].seq, hash: first[2].hash)], firstID: 5)
            let refused = try await store.append(stale)
            XCTAssertEqual(refused, .moved, "linked after an old head: refused")
            // The first log still believes its old head: the store refuses, the log links again.
            let again = try await log.append(e("three", t.id))
            XCTAssertEqual(again.seq, 4)
            XCTAssertEqual(again.id, 5)
            let lost = await log.racesLost
            XCTAssertEqual(lost, 0, "the store linked the batch again inside its transaction: no second round trip")
            let chain = try await store.events(ticketID: t.id)
            XCTAssertEqual(chain.map(\.kind), ["one", "two", "theirs", "three"])
            for (a, b) in zip(chain, chain.dropFirst()) { XCTAssertEqual(b.prev, a.hash) }
            let v19 = try await store.head(chain: t.id)?.id
            XCTAssertEqual(v19, 5)
            let v20 = try await store.allEvents().count
            XCTAssertEqual(v20, 5)

            let key = Curve25519.Signing.PrivateKey()
            let v21 = try await store.unsignedChains()
            XCTAssertEqual(v21, [0, t.id])
            let mark = try await log.checkpoint(chain: t.id, key: key, now: Date())
            XCTAssertEqual(mark?.seq, 4)
            let v22 = try await store.unsignedChains()
            XCTAssertEqual(v22, [0])
            let v23 = try await store.checkpoints(chain: t.id).first?.isValid(publicKey: key.publicKey)
            XCTAssertEqual(v23, true)
            let report = try await log.verify(ticket: t.id, publicKey: key.publicKey, allowUnsignedChains: false) { _ in nil }
            XCTAssertTrue(report.ok, report.summary)
        }
    }

    func checkConcurrentWritersKeepEveryChainWhole() async throws {
        try await withStore { store in
            let tickets = [try await store.createTicket(title: "A", requester: "x", now: Date()).id,
                           try await store.createTicket(title: "B", requester: "x", now: Date()).id]
            // Four logs at once, as four brokers sharing one database would.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<4 {
                    group.addTask {
                        let log = AuditLog(store: store)
                        for n in 0..<24 {
                            try await log.append(Event(time: Date(), ticketID: tickets[n % 2], sessionID: nil, actor: "w\(writer)", kind: "n\(n)"))
                        }
                    }
                }
                try await group.waitForAll()
            }
            let all = try await store.allEvents()
            XCTAssertEqual(all.count, 96)
            XCTAssertEqual(Set(all.map(\.id)).count, 96)
            for chain in tickets {
                let events = all.filter { $0.chain == chain }
                XCTAssertEqual(events.map(\.seq), Array(1...48).map(Int64.init))
                for (a, b) in zip(events, events.dropFirst()) { XCTAssertEqual(b.prev, a.hash) }
            }
        }
    }

    func checkTheOutboxIsWrittenWithItsEventsAndCheckpoints() async throws {
        /// Due rows of both sinks, in id order.
        func due(_ store: any BrokerStore, now: Int64 = .max, groups: Int = 100, perGroup: Int = 100) async throws -> [Delivery] {
            var rows: [Delivery] = []
            for sink in ["rt", "webhook"] { rows += try await store.dueDeliveries(sink: sink, nowMicros: now, groups: groups, perGroup: perGroup) }
            return rows.sorted { $0.id < $1.id }
        }
        try await withStore { store in
            let routes = OutboxRoutes(helpdesks: ["rt"], webhooks: ["webhook"])
            let log = AuditLog(store: store, routes: routes)
            let linked = try await store.createTicket(title: "Printer", requester: "rt:1042", createdBy: "alice", external: "rt:1042", now: Date())
            let plain = try await store.createTicket(title: "Local", requester: "x", now: Date())
            let found = try await store.ticket(external: "rt:1042")
            XCTAssertEqual(found?.id, linked.id)
            XCTAssertEqual(found?.external, "rt:1042")
            do {
                _ = try await store.createTicket(title: "Again", requester: "x", createdBy: "bob", external: "rt:1042", now: Date())
                XCTFail("one broker ticket per helpdesk ticket")
            } catch StoreError.constraint {}
            let e = { (kind: String, ticket: Int?) in Event(time: Date(), ticketID: ticket, sessionID: nil, actor: "a", kind: kind) }
            let stored = try await log.append([e("one", linked.id), e("two", plain.id), e("user", nil)])
            // The linked ticket owes its helpdesk and the webhook; the local one only the webhook; chain 0 nothing.
            let rows = try await due(store)
            XCTAssertEqual(rows.map(\.sink), ["webhook", "rt", "webhook"])
            XCTAssertEqual(rows.map(\.eventID), [stored[0].id, stored[0].id, stored[1].id])
            XCTAssertTrue(rows.allSatisfy { $0.state == .pending && $0.attempts == 0 })
            // A batch the store refuses (linked after an old head) leaves no rows behind.
            var late = AuditEvent(id: 99, chain: linked.id, seq: 1, timeMicros: 1, session: nil, actor: "a", kind: "late", data: [:], prev: AuditEvent.genesis)
            late.hash = late.computeHash()
            let stale = LinkedBatch(events: [late], after: [linked.id: .empty], firstID: 99, routes: routes)
            let refused = try await store.append(stale)
            XCTAssertEqual(refused, .moved)
            let afterRefusal = try await due(store).count
            XCTAssertEqual(afterRefusal, 3)
            // A checkpoint is owed too, in its own transaction with it.
            let mark = try await log.checkpoint(chain: linked.id, key: Curve25519.Signing.PrivateKey(), now: Date())
            let owed = try await store.deliveries(chain: linked.id)
            XCTAssertEqual(owed.count, 4)
            let markRows = owed.filter { $0.checkpointID != nil }
            XCTAssertEqual(markRows.count, 2)
            let markID = try XCTUnwrap(markRows.first?.checkpointID)
            let back = try await store.checkpoint(id: markID)
            XCTAssertEqual(back?.signature, mark?.signature)

            // Each state a worker moves rows through, and resync.
            let ids = owed.map(\.id)
            try await store.change(deliveries: [ids[0]], to: .sending(batch: "td1-abc"))
            try await store.change(deliveries: [ids[1]], to: .retry(nextMicros: 42, error: "HTTP 503"))
            try await store.change(deliveries: [ids[2]], to: .failed(atMicros: 7, error: "HTTP 403"))
            try await store.change(deliveries: [ids[3]], to: .delivered(atMicros: 9))
            let now = try await store.deliveries(chain: linked.id)
            XCTAssertEqual(now.map(\.state), [.sending, .pending, .failed, .delivered])
            XCTAssertEqual(now[0].batch, "td1-abc")
            XCTAssertEqual(now[1].attempts, 1)
            XCTAssertEqual(now[1].nextMicros, 42)
            XCTAssertEqual(now[1].lastError, "HTTP 503")
            XCTAssertEqual(now[3].doneMicros, 9)
            let open = try await due(store).map(\.id)
            XCTAssertEqual(open, [ids[0], ids[1], rows[2].id], "delivered and failed rows are not open")
            // A group whose oldest row waits for its next try is not due, whatever comes after it.
            let at41 = try await due(store, now: 41).map(\.id)
            XCTAssertEqual(at41, [], "the sending row and the local ticket's are due at their events' time, long after 41")
            let at42 = try await due(store, now: 42).map(\.id)
            XCTAssertEqual(at42, [ids[1]])
            // A post under a key that failed for now stays under its key, to be asked about first.
            try await store.change(deliveries: [ids[0]], to: .retry(nextMicros: 50, error: "timeout"))
            let unsure = try await store.deliveries(chain: linked.id)[0]
            XCTAssertEqual(unsure.state, .sending)
            XCTAssertEqual(unsure.batch, "td1-abc")
            XCTAssertEqual(unsure.attempts, 1)
            let oneGroup = try await store.dueDeliveries(sink: "webhook", nowMicros: .max, groups: 1, perGroup: 100).map(\.id)
            XCTAssertEqual(oneGroup, [ids[0]], "the oldest ticket first")
            let onlyRT = try await store.dueDeliveries(sink: "rt", nowMicros: .max, groups: 100, perGroup: 100).map(\.sink)
            XCTAssertEqual(onlyRT, ["rt"], "one sink's rows only")
            let oneEach = try await due(store, perGroup: 1).count
            XCTAssertEqual(oneEach, 3, "one row of each of the three groups")
            let counts = try await store.deliveryCounts()
            // webhook: the linked event's row sending, the checkpoint's failed, the local ticket's pending; rt: one waiting, one delivered.
            XCTAssertEqual(counts["webhook"], [.sending: 1, .failed: 1, .pending: 1])
            XCTAssertEqual(counts["rt"], [.pending: 1, .delivered: 1])
            let retried = try await store.retryFailed(chain: linked.id, nowMicros: 100)
            XCTAssertEqual(retried, 1)
            let again = try await store.deliveries(chain: linked.id)
            XCTAssertEqual(again[2].state, .pending, "it never left: a fresh post")
            XCTAssertEqual(again[2].attempts, 0)
            XCTAssertEqual(again[2].lastError, "HTTP 403", "why it failed stays visible until it is delivered")
            // A post that left under a key and was then refused: resync asks about that key first.
            try await store.change(deliveries: [ids[0]], to: .failed(atMicros: 60, error: "HTTP 403"))
            let keyed = try await store.retryFailed(chain: linked.id, nowMicros: 200)
            XCTAssertEqual(keyed, 1)
            let asked = try await store.deliveries(chain: linked.id)[0]
            XCTAssertEqual(asked.state, .sending, "it may have arrived: not a fresh post")
            XCTAssertEqual(asked.batch, "td1-abc")
            XCTAssertEqual(asked.nextMicros, 200)
            let fetched = try await store.events(ids: [stored[1].id, stored[0].id, 999])
            XCTAssertEqual(fetched.map(\.kind), ["two", "one"])
        }
    }
}

/// The embedded default.
final class SQLiteStoreConformanceTests: StoreConformanceTests {
    func testTicketsAndWhoSeesThem() async throws { try await checkTicketsAndWhoSeesThem() }
    func testSessionsAreFoundByCodeHashAndCodeHashesAreUnique() async throws { try await checkSessionsAreFoundByCodeHashAndCodeHashesAreUnique() }
    func testHostileTextIsStoredAsData() async throws { try await checkHostileTextIsStoredAsData() }
    func testUsersHaveKeysAndALifecycle() async throws { try await checkUsersHaveKeysAndALifecycle() }
    func testTheAuditLogLinksChainsAndTheStoreRefusesAStaleHead() async throws { try await checkTheAuditLogLinksChainsAndTheStoreRefusesAStaleHead() }
    func testConcurrentWritersKeepEveryChainWhole() async throws { try await checkConcurrentWritersKeepEveryChainWhole() }
    func testTheOutboxIsWrittenWithItsEventsAndCheckpoints() async throws { try await checkTheOutboxIsWrittenWithItsEventsAndCheckpoints() }

    override func makeStore() async throws -> any BrokerStore {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return try await SQLStore.sqlite(path: dir.appendingPathComponent("tandem.db").path)
    }

    func testTheFileIsWALAndEveryCommitIsFlushed() async throws {
        let store = try await makeStore() as! SQLStore
        let settings = try await store.sqliteSettings()
        await store.close()
        XCTAssertEqual(settings.journalMode, "wal")
        XCTAssertEqual(settings.synchronous, 2, "synchronous=FULL: acknowledged events survive a crash")
    }
}

/// A real PostgreSQL: scripts/test.sh starts one per run and names it in TANDEM_TEST_POSTGRES.
final class PostgresStoreConformanceTests: StoreConformanceTests {
    func testTicketsAndWhoSeesThem() async throws { try await checkTicketsAndWhoSeesThem() }
    func testSessionsAreFoundByCodeHashAndCodeHashesAreUnique() async throws { try await checkSessionsAreFoundByCodeHashAndCodeHashesAreUnique() }
    func testHostileTextIsStoredAsData() async throws { try await checkHostileTextIsStoredAsData() }
    func testUsersHaveKeysAndALifecycle() async throws { try await checkUsersHaveKeysAndALifecycle() }
    func testTheAuditLogLinksChainsAndTheStoreRefusesAStaleHead() async throws { try await checkTheAuditLogLinksChainsAndTheStoreRefusesAStaleHead() }
    func testConcurrentWritersKeepEveryChainWhole() async throws { try await checkConcurrentWritersKeepEveryChainWhole() }
    func testTheOutboxIsWrittenWithItsEventsAndCheckpoints() async throws { try await checkTheOutboxIsWrittenWithItsEventsAndCheckpoints() }

    override func makeStore() async throws -> any BrokerStore {
        try await PostgresTestServer.store()
    }

    /// Acceptance 3 of issue 16, at the store: three brokers' stores (three pools, as three
    /// processes would have) write ten sessions at once to one ticket.
    func testThreeBrokersWritingTenSessionsToOneTicketMakeOneChain() async throws {
        let url = try PostgresTestServer.freshDatabase()
        var stores: [SQLStore] = []
        for _ in 0..<3 { stores.append(try await SQLStore.postgres(url: url, password: PostgresTestServer.password)) }
        let key = Curve25519.Signing.PrivateKey()
        do {
            let ticket = try await stores[0].createTicket(title: "Shared", requester: "x", now: Date()).id
            let logs = stores.map { AuditLog(store: $0) }
            let perSession = 30
            try await withThrowingTaskGroup(of: Void.self) { group in
                for session in 0..<10 {
                    let log = logs[session % 3]
                    group.addTask {
                        var n = 0
                        while n < perSession {
                            // Batches of one to three, as a relay's events come.
                            let size = min(perSession - n, 1 + (session + n) % 3)
                            let batch = (n..<(n + size)).map {
                                Event(time: Date(), ticketID: ticket, sessionID: "s\(session)", actor: "b\(session % 3)", kind: "k\($0)")
                            }
                            try await log.append(batch)
                            n += size
                        }
                        // Each session's broker signs the head when its session ends, with the one shared key.
                        try await log.checkpoint(chain: ticket, key: key, now: Date())
                    }
                }
                try await group.waitForAll()
            }
            let chain = try await stores[1].events(ticketID: ticket)
            XCTAssertEqual(chain.count, 10 * perSession)
            XCTAssertEqual(chain.map(\.seq), Array(1...Int64(10 * perSession)), "no gap, no fork")
            XCTAssertEqual(Set(chain.map(\.id)).count, chain.count)
            for (a, b) in zip(chain, chain.dropFirst()) { XCTAssertEqual(b.prev, a.hash) }
            for session in 0..<10 {
                let kinds = chain.filter { $0.session == "s\(session)" }.map(\.kind)
                XCTAssertEqual(kinds, (0..<perSession).map { "k\($0)" }, "each session's events in the order it wrote them")
            }
            let marks = try await stores[2].checkpoints(chain: ticket)
            XCTAssertEqual(marks.count, 10)
            let report = try await logs[2].verify(ticket: ticket, publicKey: key.publicKey, allowUnsignedChains: false) { _ in nil }
            XCTAssertTrue(report.ok, report.summary)
            XCTAssertEqual(report.eventsChecked, 10 * perSession)
            XCTAssertEqual(report.unsigned, 0, "the last session's checkpoint covers the head")
            for log in logs {
                let lost = await log.racesLost
                XCTAssertEqual(lost, 0, "every batch was linked under the lock, none sent back")
            }
        } catch {
            for store in stores { await store.close() }
            throw error
        }
        for store in stores { await store.close() }
    }

    /// Three brokers' stores take guesses for one source at once: the allowance is one for all of
    /// them, guesses being looked at hold a place until settled, and right codes cost nothing.
    func testThreeBrokersShareOneGuessAllowancePerSource() async throws {
        let url = try PostgresTestServer.freshDatabase()
        var stores: [SQLStore] = []
        for _ in 0..<3 { stores.append(try await SQLStore.postgres(url: url, password: PostgresTestServer.password)) }
        do {
            try await checkTheGuessAllowanceIsShared(stores, url: url)
        } catch {
            for store in stores { await store.close() }
            throw error
        }
        for store in stores { await store.close() }
    }

    private func checkTheGuessAllowanceIsShared(_ stores: [SQLStore], url: String) async throws {
        let limits = GuessLimiter.Limits(perSource: 5, global: 8, window: 60)
        // 30 guesses at once from one source over three stores: 5 are looked at, the rest wait.
        let answers = try await withThrowingTaskGroup(of: GuessReservation.self) { group in
            for n in 0..<30 { group.addTask { try await stores[n % 3].reserveGuess(source: "198.51.100.7", limits: limits) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let granted = answers.compactMap { if case .granted(let id) = $0 { return id } else { return nil } }
        XCTAssertEqual(granted.count, 5, "\(answers)")
        XCTAssertEqual(answers.filter { $0 == .busy }.count, 25)
        // Two were right codes: given back, they make room for two more.
        try await stores[0].settleGuess(granted[0], wrong: false)
        try await stores[1].settleGuess(granted[1], wrong: false)
        var more: [Int64] = []
        for n in 0..<2 {
            guard case .granted(let id) = try await stores[n].reserveGuess(source: "198.51.100.7", limits: limits) else {
                return XCTFail("a right code's place is given back")
            }
            more.append(id)
        }
        let full = try await stores[2].reserveGuess(source: "198.51.100.7", limits: limits)
        XCTAssertEqual(full, .busy)
        // All five wrong: the source is refused on every store, for about the window.
        for (n, id) in (granted.dropFirst(2) + more).enumerated() { try await stores[n % 3].settleGuess(id, wrong: true) }
        for store in stores {
            guard case .refused(let wait) = try await store.reserveGuess(source: "198.51.100.7", limits: limits) else {
                return XCTFail("five wrong guesses over three stores reach the limit of five")
            }
            XCTAssertTrue((55...60).contains(wait), "\(wait)")
        }
        // A code that needs no lookup asks only whether the source is refused, and takes no place.
        let blocked = try await stores[2].guessBlock(source: "198.51.100.7", limits: limits)
        XCTAssertTrue((55...60).contains(blocked ?? 0), "\(String(describing: blocked))")
        let free = try await stores[2].guessBlock(source: "198.51.100.8", limits: limits)
        XCTAssertNil(free)
        // Another source is not held back by this one's, until everyone's wrong guesses reach the
        // global limit: then only sources that already guessed wrong are refused.
        for n in 0..<3 {
            guard case .granted(let id) = try await stores[n].reserveGuess(source: "203.0.113.\(n)", limits: limits) else {
                return XCTFail("a fresh source may guess")
            }
            try await stores[n].settleGuess(id, wrong: true)
        }
        guard case .refused = try await stores[1].reserveGuess(source: "203.0.113.0", limits: limits) else {
            return XCTFail("eight wrong guesses in all: a source that guessed wrong is refused")
        }
        guard case .granted = try await stores[2].reserveGuess(source: "203.0.113.99", limits: limits) else {
            return XCTFail("a source with no wrong guess may still try")
        }
        // A guess taken by a replica that died before settling it counts as wrong after 30 s: a lost
        // settlement gives a guesser no free try. (A global limit out of the way: everyone's is spent above.)
        let roomy = GuessLimiter.Limits(perSource: 5, global: 1000, window: 60)
        let fresh = try await stores[0].reserveGuess(source: "192.0.2.1", limits: roomy)
        guard case .granted = fresh else { return XCTFail("\(fresh)") }
        do {
            let sql = try PostgresTestServer.run("UPDATE wrong_guesses SET at = at - 31 WHERE source = '192.0.2.1'", in: url)
            XCTAssertTrue(sql.contains("UPDATE 1"), sql)
        }
        var later: [Int64] = []
        for n in 0..<4 {
            guard case .granted(let id) = try await stores[n % 3].reserveGuess(source: "192.0.2.1", limits: roomy) else {
                return XCTFail("one stale guess and \(n) being looked at leave room")
            }
            later.append(id)
        }
        let crowded = try await stores[1].reserveGuess(source: "192.0.2.1", limits: roomy)
        XCTAssertEqual(crowded, .busy, "the stale guess still takes its place")
        for id in later { try await stores[2].settleGuess(id, wrong: true) }
        guard case .refused = try await stores[0].reserveGuess(source: "192.0.2.1", limits: roomy) else {
            return XCTFail("four wrong and one never settled make five")
        }
    }

    /// One replica posts the outbox for all, until it stops; then the next to ask takes it over.
    func testOneReplicaLeadsAJobUntilItStops() async throws {
        let url = try PostgresTestServer.freshDatabase()
        let a = try await SQLStore.postgres(url: url, password: PostgresTestServer.password)
        let b = try await SQLStore.postgres(url: url, password: PostgresTestServer.password)
        let first = await a.lead(.outbox)
        let second = await b.lead(.outbox)
        let again = await a.lead(.outbox)
        let other = await b.lead(.checkpoints)
        XCTAssertEqual([first, second, again, other], [true, false, true, true], "one leader per job; jobs are separate")
        await a.close()
        // The lock went with a's connection: b takes the job at its next try.
        var taken = false
        for _ in 0..<50 where !taken {
            taken = await b.lead(.outbox)
            if !taken { try await Task.sleep(for: .milliseconds(100)) }
        }
        XCTAssertTrue(taken)
        await b.close()
    }

    func testThePasswordWorksAndStaysOutOfWhatTheStoreShows() async throws {
        let url = try PostgresTestServer.freshDatabase()
        let secret = try XCTUnwrap(PostgresTestServer.password, "scripts/test.sh gives the server a password")
        // In the URL: it logs in, and neither the location nor an error shows it.
        let withPassword = url.replacingOccurrences(of: "postgres://tandem@", with: "postgres://tandem:\(secret)@")
        let store = try await SQLStore.postgres(url: withPassword)
        let location = store.location
        _ = try await store.tickets()
        await store.close()
        XCTAssertFalse(location.contains(secret), location)
        XCTAssertTrue(location.hasPrefix("postgres://tandem@127.0.0.1:"), location)
        var quiet = Logger(label: "test")
        quiet.logLevel = .critical
        do {
            _ = try await SQLStore.postgres(url: url, password: "not-\(secret)", connectTimeout: .seconds(5), logger: quiet)
            XCTFail("a wrong password was accepted")
        } catch {
            XCTAssertFalse("\(error)".contains(secret), "\(error)")
            XCTAssertTrue("\(error)".contains("cannot open the database at postgres://tandem@127.0.0.1:"), "\(error)")
        }
        // A port nothing listens on: a clear error within the connect deadline.
        let closed = try Self.closedPort()
        let nowhere = url.replacingOccurrences(of: #"127\.0\.0\.1:\d+"#, with: "127.0.0.1:\(closed)", options: .regularExpression)
        let started = ContinuousClock.now
        do {
            _ = try await SQLStore.postgres(url: nowhere, password: secret, connectTimeout: .seconds(2), logger: quiet)
            XCTFail("a server that is not there was reached")
        } catch {
            XCTAssertLessThan(ContinuousClock.now - started, .seconds(10))
            XCTAssertTrue("\(error)".contains("cannot open the database at postgres://tandem@127.0.0.1:\(closed)"), "\(error)")
        }
    }

    /// A loopback port that was free a moment ago and has nothing listening.
    private static func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw StoreError.sql("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    func testTwoBrokersStartingAtOnceMigrateOnce() async throws {
        let url = try PostgresTestServer.freshDatabase()
        async let a = SQLStore.postgres(url: url, password: PostgresTestServer.password)
        async let b = SQLStore.postgres(url: url, password: PostgresTestServer.password)
        let (first, second) = try await (a, b)
        _ = try await first.createTicket(title: "one", requester: "x", now: Date())
        let count = try await second.tickets().count
        await first.close()
        await second.close()
        XCTAssertEqual(count, 1)
    }
}
