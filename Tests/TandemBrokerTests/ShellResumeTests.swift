import Crypto
import Foundation
import Logging
import NIOCore
import NIOEmbedded
import NIOSSH
import TandemCore
import TandemStore
import XCTest

@testable import TandemBroker

/// Issue 14, acceptance 6, the technician's side: a parked shell is taken up once, by the same
/// user and key, with its own secret; a used secret or another session's is refused and on record.
final class ShellResumeTests: XCTestCase {
    private func makeBroker(clock: ManualWallClock) async throws -> Broker {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-resume-\(UUID().uuidString)").path
        let identity = try await BrokerAdmin.initialise(dataDirectory: dir)
        let store = try await BrokerAdmin.openStore(dir)
        addTeardownBlock { await store.close() }
        _ = try await store.createTicket(title: "Wi-Fi drops", requester: "jane", now: clock.now)
        return Broker(config: BrokerConfig(dataDirectory: dir, certificatePath: "", keyPath: ""), identity: identity, store: store, clock: clock,
                      logger: Logger(label: "test"))
    }

    private func activeSession(_ broker: Broker, clock: ManualWallClock) async throws -> SessionID {
        let (id, code) = try await broker.createSession(technician: "alice", ticketID: 1, scopes: [.shell], timeLimit: nil)
        _ = try await broker.redeem(code: code.digits, source: "127.0.0.1", agentUser: "jane", agentHost: "pc").get()
        let hostKey = NIOSSHPrivateKey(ed25519Key: .init()).publicKey
        let approved = await broker.consent(id, approved: true, actor: "jane@pc", hostKey: hostKey, resumeToken: String(repeating: "a", count: 64))
        XCTAssertTrue(approved)
        await broker.agentReady(id, link: AgentLink(channel: EmbeddedChannel()))
        return id
    }

    private func parked(_ id: SessionID, secret: String, user: String = "alice", key: String = "SHA256:alice") -> ParkedShell {
        ParkedShell(session: id, ticket: 1, user: user, loginKey: key, agent: EmbeddedChannel(), recorder: nil, counter: RelayCounter(),
                    activity: SessionActivity(), tag: 0, inputLog: ReplayLog(capacity: 1024), outputLog: nil,
                    anchor: RelayAnchor(owner: EmbeddedChannel()), watchToken: nil,
                    tokenHash: Broker.tokenHash(secret), since: Date())
    }

    func testAParkedShellIsTakenUpOnceBySameUserAndKeyWithItsOwnSecret() async throws {
        let clock = ManualWallClock()
        let broker = try await makeBroker(clock: clock)
        let a = try await activeSession(broker, clock: clock)
        let b = try await activeSession(broker, clock: clock)
        let secret = String(repeating: "1", count: 64)
        await broker.technicianLost(parked(a, secret: secret))

        // Another user, or the same user with another key: refused, and the shell still waits.
        let stranger = await broker.resumeTechnician(a, token: secret, user: "bob", loginKey: "SHA256:alice", source: "10.0.0.9")
        XCTAssertNotNil(stranger.failureValue)
        let otherKey = await broker.resumeTechnician(a, token: secret, user: "alice", loginKey: "SHA256:other", source: "10.0.0.9")
        XCTAssertNotNil(otherKey.failureValue)
        // The secret, for another session: refused.
        let elsewhere = await broker.resumeTechnician(b, token: secret, user: "alice", loginKey: "SHA256:alice", source: "10.0.0.9")
        XCTAssertNotNil(elsewhere.failureValue)
        // The right one: taken up, once.
        let taken = await broker.resumeTechnician(a, token: secret, user: "alice", loginKey: "SHA256:alice", source: "10.0.0.9")
        XCTAssertNotNil(try? taken.get())
        let replayed = await broker.resumeTechnician(a, token: secret, user: "alice", loginKey: "SHA256:alice", source: "10.0.0.9")
        XCTAssertNotNil(replayed.failureValue, "a used secret is refused")

        await broker.journal.drain()
        let events = try await broker.store.events(ticketID: 1)
        let refusals = events.filter { $0.kind == "resume_refused" }.compactMap { $0.data["reason"] }
        XCTAssertEqual(refusals, ["key", "key", "wrong_token", "wrong_token"])
        XCTAssertEqual(events.filter { $0.kind == "technician_disconnected" }.count, 1)
        XCTAssertEqual(events.filter { $0.kind == "technician_resumed" }.count, 1)
        // No secret in the record.
        XCTAssertFalse(events.contains { $0.data.values.contains { $0.contains(secret) } })
    }
}
