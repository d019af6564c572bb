import Foundation
import TandemAudit
import TandemCore
import Synchronization
import TandemStore

/// A real store behind a delay on every call: what the broker does when its database is slow.
struct SlowStore: BrokerStore {
    let inner: any BrokerStore
    let delay: Duration
    /// Calls made so far (so a test can show the store was really in the way).
    let calls = CallCounter()

    var location: String { inner.location + " (slowed)" }

    func close() async { await inner.close() }

    private func pause() async {
        calls.add()
        try? await Task.sleep(for: delay)
    }

    func createTicket(title: String, requester: String, createdBy: String?, external: String?, now: Date) async throws(StoreError) -> Ticket {
        await pause()
        return try await inner.createTicket(title: title, requester: requester, createdBy: createdBy, external: external, now: now)
    }

    func ticket(external: String) async throws(StoreError) -> Ticket? {
        await pause()
        return try await inner.ticket(external: external)
    }

    func tickets() async throws(StoreError) -> [Ticket] {
        await pause()
        return try await inner.tickets()
    }

    func tickets(visibleTo user: String) async throws(StoreError) -> [Ticket] {
        await pause()
        return try await inner.tickets(visibleTo: user)
    }

    func ticket(id: Int) async throws(StoreError) -> Ticket? {
        await pause()
        return try await inner.ticket(id: id)
    }

    func assign(ticket: Int, to user: String, by: String, now: Date) async throws(StoreError) {
        await pause()
        return try await inner.assign(ticket: ticket, to: user, by: by, now: now)
    }

    func assignees(ticket: Int) async throws(StoreError) -> [String] {
        await pause()
        return try await inner.assignees(ticket: ticket)
    }

    func addUser(name: String, role: Role, publicKey: String, now: Date) async throws(StoreError) {
        await pause()
        return try await inner.addUser(name: name, role: role, publicKey: publicKey, now: now)
    }

    func users() async throws(StoreError) -> [User] {
        await pause()
        return try await inner.users()
    }

    func user(named name: String) async throws(StoreError) -> User? {
        await pause()
        return try await inner.user(named: name)
    }

    func setStatus(of name: String, to status: UserStatus) async throws(StoreError) {
        await pause()
        return try await inner.setStatus(of: name, to: status)
    }

    func addKey(_ line: String, to name: String, now: Date) async throws(StoreError) {
        await pause()
        return try await inner.addKey(line, to: name, now: now)
    }

    func removeKey(_ line: String, from name: String) async throws(StoreError) -> Bool {
        await pause()
        return try await inner.removeKey(line, from: name)
    }

    func inactiveUsers() async throws(StoreError) -> [String: UserStatus] {
        await pause()
        return try await inner.inactiveUsers()
    }

    func addToken(_ t: TokenRecord) async throws(StoreError) {
        await pause()
        try await inner.addToken(t)
    }

    func token(secretHash: String) async throws(StoreError) -> TokenRecord? {
        await pause()
        return try await inner.token(secretHash: secretHash)
    }

    func token(id: String) async throws(StoreError) -> TokenRecord? {
        await pause()
        return try await inner.token(id: id)
    }

    func tokens(owner: String?) async throws(StoreError) -> [TokenRecord] {
        await pause()
        return try await inner.tokens(owner: owner)
    }

    func revokeToken(id: String, at: Date) async throws(StoreError) -> Bool {
        await pause()
        return try await inner.revokeToken(id: id, at: at)
    }

    func createSession(_ s: SessionRecord) async throws(StoreError) {
        await pause()
        return try await inner.createSession(s)
    }

    func session(id: SessionID) async throws(StoreError) -> SessionRecord? {
        await pause()
        return try await inner.session(id: id)
    }

    func session(codeHash: String) async throws(StoreError) -> SessionRecord? {
        await pause()
        return try await inner.session(codeHash: codeHash)
    }

    func updateSession(_ id: SessionID, state: SessionLifecycle.State, endReason: String?) async throws(StoreError) {
        await pause()
        return try await inner.updateSession(id, state: state, endReason: endReason)
    }

    func openSessions() async throws(StoreError) -> [SessionRecord] {
        await pause()
        return try await inner.openSessions()
    }

    func chainTips(_ chains: Set<Int>) async throws(StoreError) -> ChainTips {
        await pause()
        return try await inner.chainTips(chains)
    }

    func append(_ batch: LinkedBatch) async throws(StoreError) -> AppendOutcome {
        await pause()
        return try await inner.append(batch)
    }

    func events(ticketID: Int) async throws(StoreError) -> [AuditEvent] {
        await pause()
        return try await inner.events(ticketID: ticketID)
    }

    func events(sessionID: String) async throws(StoreError) -> [AuditEvent] {
        await pause()
        return try await inner.events(sessionID: sessionID)
    }

    func allEvents() async throws(StoreError) -> [AuditEvent] {
        await pause()
        return try await inner.allEvents()
    }

    func head(chain: Int) async throws(StoreError) -> AuditEvent? {
        await pause()
        return try await inner.head(chain: chain)
    }

    func addCheckpoint(_ c: Checkpoint, routes: OutboxRoutes) async throws(StoreError) {
        await pause()
        try await inner.addCheckpoint(c, routes: routes)
    }

    func dueDeliveries(sink: String, nowMicros: Int64, groups: Int, perGroup: Int) async throws(StoreError) -> [Delivery] {
        await pause()
        return try await inner.dueDeliveries(sink: sink, nowMicros: nowMicros, groups: groups, perGroup: perGroup)
    }

    func deliveries(chain: Int) async throws(StoreError) -> [Delivery] {
        await pause()
        return try await inner.deliveries(chain: chain)
    }

    func change(deliveries ids: [Int64], to change: DeliveryChange) async throws(StoreError) {
        await pause()
        try await inner.change(deliveries: ids, to: change)
    }

    func retryFailed(chain: Int, nowMicros: Int64) async throws(StoreError) -> Int {
        await pause()
        return try await inner.retryFailed(chain: chain, nowMicros: nowMicros)
    }

    func deliveryCounts() async throws(StoreError) -> [String: [DeliveryState: Int]] {
        await pause()
        return try await inner.deliveryCounts()
    }

    func events(ids: [Int64]) async throws(StoreError) -> [AuditEvent] {
        await pause()
        return try await inner.events(ids: ids)
    }

    func checkpoint(id: Int64) async throws(StoreError) -> Checkpoint? {
        await pause()
        return try await inner.checkpoint(id: id)
    }

    func checkpoints(chain: Int?) async throws(StoreError) -> [Checkpoint] {
        await pause()
        return try await inner.checkpoints(chain: chain)
    }

    func unsignedChains() async throws(StoreError) -> [Int] {
        await pause()
        return try await inner.unsignedChains()
    }

    func checkIntegrity(full: Bool) async throws(StoreError) {
        await pause()
        return try await inner.checkIntegrity(full: full)
    }
}

/// A count shared by copies of a store.
final class CallCounter: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
