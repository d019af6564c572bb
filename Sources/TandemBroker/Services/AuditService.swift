@preconcurrency import Crypto
import Foundation
import NIOPosix
import TandemAPI
import TandemAudit
import TandemCore
import TandemStore
import TandemHelpdesk

/// The record: timelines, online verification, export bundles and recordings.
public struct AuditService: Sendable {
    let broker: Broker

    public func timeline(_ caller: Caller, ticket: Int) async throws -> [AuditEvent] {
        _ = try await Policy(broker: broker, caller: caller).visibleTicket(ticket, operation: "audit.log")
        return try await broker.store.events(ticketID: ticket)
    }

    public func timeline(_ caller: Caller, session id: SessionID) async throws -> [AuditEvent] {
        _ = try await Policy(broker: broker, caller: caller).visibleSession(id, operation: "audit.log", content: false)
        return try await broker.store.events(sessionID: id.rawValue)
    }

    /// Checks the ticket's chain, checkpoints and every recording it names, at the broker.
    public func verify(_ caller: Caller, ticket: Int, againstHelpdesk: Bool = false) async throws -> VerificationView {
        let policy = Policy(broker: broker, caller: caller)
        let record = try await policy.visibleTicket(ticket, operation: "audit.verify")
        let bundle = try await bundle(policy, ticket: ticket, forEveryone: true)
        var view = VerificationView(try await Self.offPool { bundle.verify() })
        guard againstHelpdesk else { return view }
        // The helpdesk is asked with the broker's credentials; what it holds is trusted only as far
        // as the audit key's signatures on it go.
        guard let external = record.external, case .external(let system, let n)? = TicketReference(external) else {
            throw TandemError.invalidArgument("ticket #\(ticket) is not linked to a helpdesk ticket, so there is nothing to compare it with")
        }
        guard let sink = broker.helpdesks.noteSinks[system] else { throw TicketLinks.Refusal.notConfigured(system) }
        let notes: [String]
        let complete: Bool
        do {
            (notes, complete) = try await sink.checkpointNotes(ticket: n)
        } catch {
            throw TicketLinks.Refusal.unreachable(external, system, error)
        }
        // Anyone who can write to the ticket can post lines: the same line once, a bounded number in
        // all, and the signature checks off the cooperative threads.
        var seen = Set<String>()
        let found = notes.flatMap(CheckpointLine.parse).filter { seen.insert(CheckpointLine.format($0)).inserted }
        let anchors = Array(found.prefix(CheckpointLine.linesKept))
        let readAll = complete && found.count <= CheckpointLine.linesKept
        let events = try await broker.store.events(ticketID: ticket)
        let keyBytes = broker.identity.auditKey.publicKey.rawRepresentation
        let place = "\(system.displayName) ticket \(external)"
        var report = try await Self.offPool {
            // The key crosses to the pool as bytes (Crypto's key types are not Sendable).
            guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: keyBytes) else {
                return HelpdeskAnchors.Report(compared: 0, ignored: anchors.count, problems: ["the broker's audit key could not be read"])
            }
            return HelpdeskAnchors.compare(chain: ticket, events: events, anchors: anchors, publicKey: key, where: place)
        }
        // What the outbox says was delivered there must still be at the broker, and still be there.
        let delivered = try await broker.store.deliveries(chain: ticket).filter { $0.sink == system.rawValue && $0.state == .delivered }
        let held = Set(anchors.map { "\($0.seq) \($0.head)" })
        // When only the newest notes were read, only checkpoints at least as new as the oldest read can be missed.
        let oldestRead = readAll ? Int64.min : (anchors.map(\.seq).min() ?? .max)
        for row in delivered {
            guard let id = row.checkpointID else { continue }
            guard let mark = try await broker.store.checkpoint(id: id) else {
                report.problems.append("the broker delivered a checkpoint to \(place) that it no longer has itself (checkpoint \(id) was deleted)")
                continue
            }
            if mark.seq >= oldestRead, !held.contains("\(mark.seq) \(mark.head)") {
                report.problems.append("\(place) no longer holds the checkpoint at event \(mark.seq) that the broker delivered to it")
            }
        }
        view.helpdeskCheckpoints = report.compared
        view.problems += report.problems
        view.ok = view.ok && report.ok
        var line = report.compared == 0
            ? "\(system.displayName) ticket \(external) holds no signed checkpoint of this ticket yet."
            : "\(system.displayName) ticket \(external) holds \(report.compared) signed checkpoints" + (report.ok ? "; each matches the broker's chain." : ":")
        if !report.ok { line += "\n" + report.problems.map { "  " + $0 }.joined(separator: "\n") }
        if report.ignored > 0 { line += "\n\(report.ignored) lines there that look like checkpoints carry no valid signature of this ticket and were ignored." }
        view.summary += "\n" + line
        return view
    }

    /// The ticket's bundle as a tar archive, for verification anywhere; the export is on record.
    public func export(_ caller: Caller, ticket: Int) async throws -> Data {
        let policy = Policy(broker: broker, caller: caller)
        let record = try await policy.visibleTicket(ticket, operation: "audit.export")
        let bundle = try await bundle(policy, ticket: ticket)
        let export = ConsoleExport(assets: broker.config.consoleAssets)
        let who = caller.user.name
        let archive = try await Self.offPool { () -> Data in
            // The page is for people; the record verifies without it, so a page that cannot be made is left out, not fatal.
            let files = (try? export.files(ticket: ticket, title: record.title, events: bundle.events, checkpoints: bundle.checkpoints,
                                           recordings: bundle.recordings, publicKeyText: bundle.publicKeyText, exportedBy: who)) ?? []
            return bundle.archive(extra: files, readme: files.isEmpty ? "" : ConsoleExport.readme)
        }
        await broker.recordEvent(Exported(), session: nil, ticket: ticket, actor: caller.user.name)
        return archive
    }

    /// The SHA-256 of each recording of a session the caller may read.
    public func recordings(_ caller: Caller, session id: SessionID) async throws -> [String] {
        _ = try await Policy(broker: broker, caller: caller).visibleSession(id, operation: "audit.recordings", content: true)
        var seen = Set<String>()
        return try await broker.store.events(sessionID: id.rawValue).compactMap(\.recordingMade).filter { seen.insert($0).inserted }
    }

    /// The broker's copy of a file a session transferred (`capture-files = on`), for auditors and
    /// admins; the download is on record before a byte is sent. Answers where it is and its size:
    /// the adapter streams it, never holding a whole file.
    public func capturedFile(_ caller: Caller, session id: SessionID, sha256: String) async throws -> CapturedFile {
        let policy = Policy(broker: broker, caller: caller)
        try await policy.requireRole([.auditor, .admin], "download captured copies of files", operation: "audit.capture")
        _ = try await policy.visibleSession(id, operation: "audit.capture", content: true)
        guard sha256.utf8.count == 64, sha256.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }),
              try await broker.store.events(sessionID: id.rawValue).contains(where: {
                  $0.kind == EventKind.fileTransfer.rawValue && $0.data["content_sha256"] == sha256
              }) else {
            throw TandemError.notFound("a captured copy \(sha256.prefix(64)) of session \(id)")
        }
        let path = broker.config.filesDirectory + "/" + sha256
        let size = try await Self.offPool { (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil }
        guard let size, size <= broker.config.captureLimit else { throw TandemError.notFound("a captured copy \(sha256) of session \(id)") }
        guard await broker.recordEvent(CaptureDownloaded(sha256: sha256), session: id, actor: caller.user.name) else {
            throw TandemError.io("the download could not be recorded, so it was refused; the broker's operator has been told")
        }
        return CapturedFile(path: path, size: size)
    }

    /// Whether the caller may read a session's recordings (no refusal goes on record: nothing was fetched).
    public func mayReadRecordings(_ caller: Caller, session id: SessionID) async throws -> Bool {
        let policy = Policy(broker: broker, caller: caller)
        return policy.access.canReadContent(of: try await policy.visibleSession(id, operation: "audit.recordings", content: false))
    }

    /// One recording (asciicast v2) named by an event of the session; the viewing is on record.
    public func recording(_ caller: Caller, session id: SessionID, sha256: String) async throws -> Data {
        _ = try await Policy(broker: broker, caller: caller).visibleSession(id, operation: "audit.recording", content: true)
        let named = try await broker.store.events(sessionID: id.rawValue).contains { $0.recordingMade == sha256 }
        let path = recordingPath(sha256)
        guard named, let data = try await Self.offPool({ FileManager.default.contents(atPath: path) }) else {
            throw TandemError.notFound("recording \(sha256) of session \(id)")
        }
        await broker.recordEvent(RecordingViewed(recordingSha256: sha256), session: id, actor: caller.user.name)
        return data
    }

    /// Disk reads and hashing of whole recordings run on NIO's thread pool, not on the
    /// cooperative threads the `Broker` actor and every session share.
    static func offPool<T: Sendable>(_ work: @escaping @Sendable () -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(work)
    }

    private func recordingPath(_ sha: String) -> String {
        broker.config.recordingsDirectory + "/" + sha + ".cast"
    }

    /// Everything an auditor needs to check a ticket without the broker. A technician's export
    /// holds the recordings of their own sessions; the others are named as withheld.
    private func bundle(_ policy: Policy, ticket: Int, forEveryone: Bool = false) async throws -> AuditBundle {
        // Sign the head first, so the bundle proves its newest event too.
        await broker.checkpointIfUnsigned(chain: ticket)
        let events = try await broker.store.events(ticketID: ticket)
        var mine: [String: Bool] = [:]
        var recordings: [String: Data] = [:]
        var withheld: [String] = []
        for e in events {
            // Each recording once, however many events name it (a viewing names it again).
            guard let sha = e.data["recording_sha256"], recordings[sha] == nil, !withheld.contains(sha) else { continue }
            let allowed: Bool
            if forEveryone || policy.access.seesEverything {
                allowed = true
            } else if let session = e.session {
                if mine[session] == nil {
                    mine[session] = (try await broker.store.session(id: SessionID(rawValue: session))).map(policy.access.canReadContent) ?? false
                }
                allowed = mine[session] ?? false
            } else {
                allowed = false
            }
            if !allowed {
                withheld.append(sha)
            } else {
                let path = recordingPath(sha)
                if let data = try await Self.offPool({ FileManager.default.contents(atPath: path) }) { recordings[sha] = data }
            }
        }
        return AuditBundle(events: events, checkpoints: try await broker.store.checkpoints(chain: ticket),
                           recordings: recordings, publicKeyText: broker.identity.auditPublicKeyText, withheld: withheld)
    }
}

/// A ticket's chain as a reader's browser checks it itself: every event and checkpoint, and the
/// recordings the chain names with whether this reader may fetch them.
public struct ChainRecord: Sendable {
    public var events: [AuditEvent]
    public var checkpoints: [Checkpoint]
    /// Each recording named on the chain, once, with whether the caller may read it.
    public var recordings: [(sha256: String, session: String?, readable: Bool)]
}

extension AuditService {
    /// The ticket's chain and signatures, without reading any recording: cheap enough for every
    /// page view (recordings are checked by a full verification, in the browser or the CLI).
    public func verifyChain(_ caller: Caller, ticket: Int) async throws -> VerificationView {
        _ = try await Policy(broker: broker, caller: caller).visibleTicket(ticket, operation: "audit.verify")
        await broker.checkpointIfUnsigned(chain: ticket)
        let events = try await broker.store.events(ticketID: ticket)
        let bundle = AuditBundle(events: events, checkpoints: try await broker.store.checkpoints(chain: ticket), recordings: [:],
                                 publicKeyText: broker.identity.auditPublicKeyText, withheld: events.compactMap { $0.data["recording_sha256"] })
        return VerificationView(try await Self.offPool { bundle.verify(acceptWithheld: true) })
    }

    public func chain(_ caller: Caller, ticket: Int) async throws -> ChainRecord {
        let policy = Policy(broker: broker, caller: caller)
        _ = try await policy.visibleTicket(ticket, operation: "audit.verify")
        // Sign the head first, so the newest events are covered too.
        await broker.checkpointIfUnsigned(chain: ticket)
        let events = try await broker.store.events(ticketID: ticket)
        var seen = Set<String>()
        var readable: [String: Bool] = [:]
        var recordings: [(String, String?, Bool)] = []
        for e in events {
            guard let sha = e.recordingMade, seen.insert(sha).inserted else { continue }
            var allowed = policy.access.seesEverything
            if !allowed, let session = e.session {
                if readable[session] == nil {
                    readable[session] = (try await broker.store.session(id: SessionID(rawValue: session))).map(policy.access.canReadContent) ?? false
                }
                allowed = readable[session] ?? false
            }
            recordings.append((sha, e.session, allowed))
        }
        return ChainRecord(events: events, checkpoints: try await broker.store.checkpoints(chain: ticket), recordings: recordings)
    }
}

/// A captured file's place and size, for an adapter to stream.
public struct CapturedFile: Sendable {
    public let path: String
    public let size: Int
}
