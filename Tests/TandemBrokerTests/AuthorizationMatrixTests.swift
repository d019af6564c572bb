import Crypto
import Foundation
import NIOSSH
import TandemAPI
import TandemAudit
import TandemCore
import TandemSimulation
import TandemStore
import XCTest

@testable import TandemBroker

/// Every operation against every role, through the services both adapters call: who may do
/// what, and that a refusal is answered as the CLI and the API answer it (403, or 404 for what
/// the caller may not even know exists). Runs against a live broker in the test process.
final class AuthorizationMatrixTests: XCTestCase {
    /// `denied`: 403, on record. `hidden`: 404 for something that exists but is not the caller's to
    /// know of, the refusal on record. `absent`: 404 and nothing recorded.
    enum Outcome: Equatable { case ok, denied, hidden, absent, invalid, failed }

    private func refusals(_ services: BrokerServices) async -> Int {
        await services.broker.journal.drain()
        do {
            return try await services.broker.store.allEvents().filter { $0.kind == "permission_denied" }.count
        } catch {
            XCTFail("the store could not be read: \(error)")
            return .min
        }
    }

    private func outcome(_ services: BrokerServices, _ request: ControlRequest, _ caller: Caller) async -> Outcome {
        let before = await refusals(services)
        let status: Int
        do {
            _ = try await services.answer(request, for: caller)
            status = 200
        } catch {
            status = ServiceFailure(error).httpStatus
        }
        let recorded = await refusals(services) - before
        switch (status, recorded) {
        case (200, 0): return .ok
        case (403, 1): return .denied
        case (404, 1): return .hidden
        case (404, 0): return .absent
        case (400, 0): return .invalid
        default: return .failed
        }
    }

    /// `countOnly`: past the per-minute cap a refusal is answered the same but not recorded, so only the status is checked.
    private func expect(_ services: BrokerServices, _ request: ControlRequest, _ caller: Caller, _ want: Outcome,
                        countOnly: Bool = false, file: StaticString = #filePath, line: UInt = #line) async {
        let got = await outcome(services, request, caller)
        if countOnly, got == .absent, want == .hidden { return }
        XCTAssertEqual(got, want, "\(request.operation) as \(caller.user.name)", file: file, line: line)
    }

    private var keys: [String: NIOSSHPrivateKey] = [:]

    private func user(_ harness: BrokerHarness, _ name: String, _ role: Role) async throws -> User {
        let key = NIOSSHPrivateKey(ed25519Key: Curve25519.Signing.PrivateKey())
        keys[name] = key
        try await harness.store.addUser(name: name, role: role, publicKey: String(openSSHPublicKey: key.publicKey), now: Date())
        let stored = try await harness.store.user(named: name)
        return try XCTUnwrap(stored)
    }

    /// A caller hammering what they may not do fills no chain: 30 refusals a minute go on record, the rest are counted.
    func testRefusalsOnRecordAreCappedPerCallerAndMinute() async throws {
        let clock = ManualWallClock()
        let harness = try await BrokerHarness(clock: clock)
        addTeardownBlock { await harness.remove() }
        let services = BrokerServices(broker: harness.broker)
        let load = try await harness.store.user(named: "load")
        let owner = try await services.caller(try XCTUnwrap(load), via: .sshKey)
        let bob = try await services.caller(try await user(harness, "bob", .technician), via: .sshKey)
        let carol = try await services.caller(try await user(harness, "carol", .auditor), via: .sshKey)
        let ticket = try await services.tickets.create(owner, title: "Printer", requester: "jane").id
        let start = await refusals(services)
        for _ in 0..<40 { await expect(services, .ticketShow(ticket: ticket), bob, .hidden, countOnly: true) }
        let afterBob = await refusals(services)
        XCTAssertEqual(afterBob - start, Broker.refusalsRecordedPerMinute, "bob's first 30 are on record, the other 10 counted")
        await expect(services, .ticketNew(title: "x", requester: "y"), carol, .denied)
        clock.advance(by: 60)
        await expect(services, .ticketShow(ticket: ticket), bob, .hidden)
    }

    func testEveryOperationForEveryRole() async throws {
        let harness = try await BrokerHarness()
        addTeardownBlock { await harness.remove() }
        let services = BrokerServices(broker: harness.broker)
        // The world: the owner's ticket 1 with a finished session and its recordings, and ticket 2.
        let env = harness.environment
        let ticket = try await env.createTicket()
        let mine = SessionID(rawValue: try await env.lifecycle(ticket: ticket))
        let other = try await env.createTicket()
        let named = try await harness.store.events(sessionID: mine.rawValue).compactMap { $0.data["recording_sha256"] }
        let sha = try XCTUnwrap(named.first)

        let load = try await harness.store.user(named: "load")
        let owner = try await services.caller(try XCTUnwrap(load), via: .sshKey)
        let bob = try await services.caller(try await user(harness, "bob", .technician), via: .sshKey)
        let carol = try await services.caller(try await user(harness, "carol", .auditor), via: .sshKey)
        let dave = try await services.caller(try await user(harness, "dave", .admin), via: .sshKey)
        let callers = [("owner", owner), ("other technician", bob), ("auditor", carol), ("admin", dave)]

        let rows: [(ControlRequest, [Outcome])] = [
            (.whoami, [.ok, .ok, .ok, .ok]),
            (.userList, [.denied, .denied, .denied, .ok]),
            (.ticketList, [.ok, .ok, .ok, .ok]),
            (.ticketShow(ticket: ticket), [.ok, .hidden, .ok, .ok]),
            (.ticketShow(ticket: 999), [.absent, .absent, .absent, .absent]),
            (.ticketNew(title: "New", requester: "jane"), [.ok, .ok, .denied, .ok]),
            (.sessionNew(ticket: .number(ticket), scopes: [.shell], timeLimit: nil), [.ok, .hidden, .denied, .ok]),
            (.sessionShow(mine), [.ok, .hidden, .ok, .ok]),
            (.sessionEnd(mine), [.ok, .absent, .absent, .ok]),
            (.auditLog(.ticket(ticket)), [.ok, .hidden, .ok, .ok]),
            (.auditLog(.session(mine)), [.ok, .hidden, .ok, .ok]),
            (.auditVerify(ticket: ticket), [.ok, .hidden, .ok, .ok]),
            // A ticket linked to no helpdesk: there is nothing to compare with, said to those who may read it.
            (.auditVerify(ticket: ticket, againstHelpdesk: true), [.invalid, .hidden, .invalid, .invalid]),
            (.ticketSyncStatus(ticket: ticket), [.ok, .hidden, .ok, .ok]),
            (.ticketResync(ticket: ticket), [.ok, .hidden, .denied, .ok]),
            // A helpdesk this broker has no sink for: refused before any code, whoever asks.
            (.sessionNew(ticket: .external(.rt, 1042), scopes: [.shell], timeLimit: nil), [.invalid, .invalid, .denied, .invalid]),
            (.auditExport(ticket: ticket), [.ok, .hidden, .ok, .ok]),
            (.auditRecordings(mine), [.ok, .hidden, .ok, .ok]),
            (.auditRecording(mine, sha256: sha), [.ok, .hidden, .ok, .ok]),
            (.auditRecording(mine, sha256: String(repeating: "0", count: 64)), [.absent, .hidden, .absent, .absent]),
            (.tokenNew(name: "t", expiresIn: 3600), [.ok, .ok, .ok, .ok]),
            (.tokenList, [.ok, .ok, .ok, .ok]),
            (.consoleLink, [.ok, .ok, .ok, .ok]),
            (.consoleSignOutAll, [.ok, .ok, .ok, .ok]),
            (.shell(mine), [.invalid, .invalid, .invalid, .invalid]),
            (.exec(mine, command: "id"), [.invalid, .invalid, .invalid, .invalid]),
        ]
        for (request, expected) in rows {
            for ((role, caller), want) in zip(callers, expected) {
                let got = await outcome(services, request, caller)
                XCTAssertEqual(got, want, "\(request.operation) as \(role)")
            }
        }

        // Lists hold what the caller may read, nothing more.
        func tickets(_ caller: Caller) async throws -> [Int] { try await services.tickets.list(caller).map(\.id) }
        let every = try await services.tickets.list(dave)
        let (ownersList, bobsList, carolsList) = (try await tickets(owner), try await tickets(bob), try await tickets(carol))
        XCTAssertEqual(ownersList, every.filter { $0.createdBy == "load" }.map(\.id), "the owner's own tickets")
        XCTAssertTrue(ownersList.contains(ticket))
        XCTAssertEqual(bobsList, every.filter { $0.createdBy == "bob" }.map(\.id), "bob's own ticket only")
        XCTAssertFalse(bobsList.isEmpty)
        XCTAssertEqual(carolsList, every.map(\.id), "an auditor reads every ticket")
        let ownerTokens = try await services.tokens.list(owner).map(\.owner)
        let everyToken = try await services.tokens.list(dave).map(\.owner)
        XCTAssertFalse(ownerTokens.isEmpty)
        XCTAssertEqual(Set(ownerTokens), ["load"], "only the owner's own tokens")
        XCTAssertEqual(Set(everyToken), ["load", "bob", "carol", "dave"], "an admin sees every token")

        // The SSH control channel gives the same answers (exit status 0, 1 for not found, 3 for forbidden).
        for (name, request, status) in [("bob", ControlRequest.ticketShow(ticket: ticket), 1), ("carol", .ticketNew(title: "x", requester: "y"), 3),
                                        ("carol", .ticketShow(ticket: ticket), 0), ("bob", .auditRecordings(mine), 1)] {
            let env = harness.environment
            let technician = try await LoadTechnician.connect(broker: env.broker, tls: env.technicianTLS, user: name,
                                                             key: try XCTUnwrap(keys[name]), group: env.group).get()
            let got = try await technician.run(request) { _ in }.get()
            technician.close()
            XCTAssertEqual(got, status, "\(request.operation) as \(name) over SSH")
        }

        // Assigning: its creator or an admin; an auditor reads it but may not give it away.
        await expect(services, .ticketAssign(ticket: other, user: "dave"), bob, .hidden)
        await expect(services, .ticketAssign(ticket: other, user: "dave"), carol, .denied)
        await expect(services, .ticketAssign(ticket: other, user: "dave"), owner, .ok)
        await expect(services, .ticketAssign(ticket: other, user: "carol"), dave, .ok)
        await expect(services, .ticketAssign(ticket: other, user: "nobody"), owner, .absent)
        // Once assigned, bob reads the ticket's timeline but not another technician's recordings.
        await expect(services, .ticketAssign(ticket: ticket, user: "bob"), owner, .ok)
        await expect(services, .ticketShow(ticket: ticket), bob, .ok)
        await expect(services, .auditLog(.session(mine)), bob, .ok)
        await expect(services, .auditRecordings(mine), bob, .denied)
        await expect(services, .auditRecording(mine, sha256: sha), bob, .denied)

        // Tokens: made only with an SSH key, revoked by their owner or an admin, unknown to anyone else.
        let minted = try await services.tokens.mint(owner, name: "laptop", expiresIn: 3600)
        let viaToken = try await services.tokens.authenticate(bearer: minted.token)
        XCTAssertEqual(viaToken.user.name, "load")
        await expect(services, .tokenNew(name: "again", expiresIn: 3600), viaToken, .denied)
        await expect(services, .tokenRevoke(id: minted.info.id), bob, .absent)
        await expect(services, .tokenRevoke(id: minted.info.id), carol, .absent)
        await expect(services, .tokenRevoke(id: minted.info.id), dave, .ok)
        await expect(services, .tokenRevoke(id: minted.info.id), owner, .invalid)
        do {
            _ = try await services.tokens.authenticate(bearer: minted.token)
            XCTFail("a revoked token still authenticates")
        } catch let refusal as TokenService.Refusal {
            XCTAssertEqual(refusal, .revoked(minted.info.id))
        }

        // Console links: made only with an SSH key (not with a token or a console cookie); a link
        // signs in once, even when two browsers race with it; the session it makes reads as its owner.
        await expect(services, .consoleLink, viaToken, .denied)
        let link = try await services.console.link(owner)
        let linkText = String(link.path.dropFirst("/console/sign-in?link=".count))
        async let first = try? services.console.signIn(link: linkText)
        async let second = try? services.console.signIn(link: linkText)
        let winners = [await first, await second].compactMap { $0 }
        XCTAssertEqual(winners.count, 1, "a link signs in once")
        let cookie = try XCTUnwrap(winners.first).cookie
        let viaCookie = try await services.console.authenticate(cookie: cookie)
        XCTAssertEqual(viaCookie.user.name, "load")
        await expect(services, .consoleLink, viaCookie, .denied)
        await expect(services, .tokenNew(name: "from-cookie", expiresIn: 3600), viaCookie, .denied)
        await expect(services, .ticketShow(ticket: ticket), viaCookie, .ok)
        do {
            _ = try await services.tokens.authenticate(bearer: cookie)
            XCTFail("a console cookie works as a bearer token")
        } catch let refusal as TokenService.Refusal {
            XCTAssertEqual(refusal, .malformed)
        }
        do {
            _ = try await services.console.authenticate(cookie: minted.token)
            XCTFail("an API token works as a console cookie")
        } catch let refusal as ConsoleService.Refusal {
            XCTAssertEqual(refusal, .malformed)
        }
        let listed = try await services.tokens.list(owner)
        XCTAssertFalse(listed.contains { !$0.id.hasPrefix("tok_") }, "console sessions are not listed as API tokens")
        let signedOut = try await services.console.signOutAll(owner)
        XCTAssertEqual(signedOut.signedOut, 1)
        do {
            _ = try await services.console.authenticate(cookie: cookie)
            XCTFail("a console session outlives sign-out-all")
        } catch let refusal as ConsoleService.Refusal {
            guard case .ended = refusal else { return XCTFail("\(refusal)") }
        }

        // Metrics on the TLS port: admins only.
        for (role, caller) in callers {
            let before = await refusals(services)
            do {
                try await services.authorizeMetrics(caller)
                XCTAssertEqual(role, "admin")
            } catch {
                XCTAssertNotEqual(role, "admin", "\(error)")
                let after = await refusals(services)
                XCTAssertEqual(after - before, 1, "the refusal of /metrics to the \(role) is on record")
            }
        }

        // A disabled account may do nothing, whatever its role, from the next request on; its tokens stop too.
        let davesToken = try await services.tokens.mint(dave, name: "ops", expiresIn: 3600)
        let before = try await services.tokens.authenticate(bearer: davesToken.token)
        XCTAssertEqual(before.user.name, "dave")
        try await harness.store.setStatus(of: "dave", to: .disabled)
        await harness.broker.refreshUsers()
        do {
            _ = try await services.tokens.authenticate(bearer: davesToken.token)
            XCTFail("a disabled admin's token still authenticates")
        } catch let refusal as TokenService.Refusal {
            XCTAssertEqual(refusal, .ownerInactive(davesToken.info.id))
        }
        do {
            _ = try await services.caller(dave.user, via: .sshKey)
            XCTFail("a disabled admin is still a caller")
        } catch {
            XCTAssertEqual(ServiceFailure(error).httpStatus, 403)
        }
    }
}

/// The console's ticket list: pages of 50, newest first, filtered by the same visibility as the CLI.
final class TicketSearchTests: XCTestCase {
    func testTicketsComeInPagesOfFiftyNewestFirstAndOnlyTheReadersOwn() async throws {
        let harness = try await BrokerHarness()
        addTeardownBlock { await harness.remove() }
        let services = BrokerServices(broker: harness.broker)
        let loadUser = try await harness.store.user(named: "load")
        let load = try await services.caller(try XCTUnwrap(loadUser), via: .sshKey)
        try await harness.store.addUser(name: "bob", role: .technician,
                                        publicKey: String(openSSHPublicKey: NIOSSHPrivateKey(ed25519Key: .init()).publicKey), now: Date())
        try await harness.store.addUser(name: "carol", role: .auditor,
                                        publicKey: String(openSSHPublicKey: NIOSSHPrivateKey(ed25519Key: .init()).publicKey), now: Date())
        let bobUser = try await harness.store.user(named: "bob")
        let bob = try await services.caller(try XCTUnwrap(bobUser), via: .sshKey)
        let carolUser = try await harness.store.user(named: "carol")
        let carol = try await services.caller(try XCTUnwrap(carolUser), via: .sshKey)
        for n in 1...120 { _ = try await services.tickets.create(load, title: n % 3 == 0 ? "Printer \(n)" : "Laptop \(n)", requester: "jane") }
        let bobs = try await services.tickets.create(bob, title: "Printer of bob", requester: "omar")

        let first = try await services.tickets.search(load, TicketQuery())
        XCTAssertEqual(first.total, 120, "not bob's")
        XCTAssertEqual(first.pages, 3)
        XCTAssertEqual(first.tickets.count, 50)
        XCTAssertEqual(first.tickets.first?.title, "Printer 120", "newest first")
        let last = try await services.tickets.search(load, TicketQuery(page: 3))
        XCTAssertEqual(last.tickets.count, 20)
        XCTAssertEqual(last.tickets.last?.title, "Laptop 1")
        let beyond = try await services.tickets.search(load, TicketQuery(page: 4))
        XCTAssertTrue(beyond.tickets.isEmpty)
        let huge = try await services.tickets.search(load, TicketQuery(page: Int.max))
        XCTAssertEqual(huge.tickets.count, 0, "a huge page traps nothing")
        let printers = try await services.tickets.search(load, TicketQuery(text: "printer"))
        XCTAssertEqual(printers.total, 40)
        let bobsPrinters = try await services.tickets.search(bob, TicketQuery(text: "printer"))
        XCTAssertEqual(bobsPrinters.tickets.map(\.id), [bobs.id])
        let notLoads = try await services.tickets.search(load, TicketQuery(technician: "bob"))
        XCTAssertEqual(notLoads.total, 0, "bob's ticket is not load's to see")
        let everyBob = try await services.tickets.search(carol, TicketQuery(technician: "bob"))
        XCTAssertEqual(everyBob.tickets.map(\.id), [bobs.id], "an auditor finds bob's ticket by its technician")
        let everyone = try await services.tickets.search(carol, TicketQuery())
        XCTAssertEqual(everyone.total, 121)
    }
}
