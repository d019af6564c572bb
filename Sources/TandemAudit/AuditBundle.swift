@preconcurrency import Crypto
import Foundation

/// A ticket's exported audit trail: events, checkpoints, recordings and the public key.
public struct AuditBundle: Sendable {
    public var events: [AuditEvent]
    public var checkpoints: [Checkpoint]
    public var recordings: [String: Data]
    public var publicKeyText: String
    /// Recordings named in the events but not the exporter's to read (a technician's export of a
    /// shared ticket): listed in `withheld.txt`, and reported by the verifier rather than failed.
    public var withheld: [String]

    public init(events: [AuditEvent], checkpoints: [Checkpoint], recordings: [String: Data], publicKeyText: String, withheld: [String] = []) {
        self.events = events
        self.checkpoints = checkpoints
        self.recordings = recordings
        self.publicKeyText = publicKeyText
        self.withheld = withheld
    }

    /// `extra` files (the export's `index.html` and what it loads) go in beside the record, and
    /// `readme` is added to README.txt.
    public func archive(extra: [TarArchive.Entry] = [], readme: String = "") -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var entries = [
            TarArchive.Entry(name: "README.txt", data: Data("""
                Tandem audit bundle. Verify with: tandem audit verify THIS.tar [--public-key KEY]
                events.jsonl       one event per line (canonical form plus its hash; docs/audit-format.md)
                checkpoints.jsonl  the broker's Ed25519 signatures over chain heads
                audit_public_key   the key those signatures verify with (compare with 'tandemd info')
                recordings/        terminal recordings (asciicast v2), named by their SHA-256

                """.utf8) + Data(readme.utf8)),
            TarArchive.Entry(name: "events.jsonl", data: Data(events.map { $0.exportLine + "\n" }.joined().utf8)),
            TarArchive.Entry(name: "checkpoints.jsonl",
                             data: Data(checkpoints.compactMap { (try? encoder.encode($0)).map { String(decoding: $0, as: UTF8.self) + "\n" } }.joined().utf8)),
            TarArchive.Entry(name: "audit_public_key", data: Data((publicKeyText + "\n").utf8)),
        ]
        for (sha, data) in recordings.sorted(by: { $0.key < $1.key }) {
            entries.append(TarArchive.Entry(name: "recordings/\(sha).cast", data: data))
        }
        entries += extra
        if !withheld.isEmpty {
            entries.append(TarArchive.Entry(name: "withheld.txt", data: Data(withheld.sorted().map { $0 + "\n" }.joined().utf8)))
        }
        return TarArchive.write(entries)
    }

    public static func open(_ archive: Data) throws -> AuditBundle {
        let entries = try TarArchive.read(archive)
        func file(_ name: String) throws -> Data {
            guard let e = entries.first(where: { $0.name == name }) else { throw TarArchive.TarError.malformed("\(name) is missing") }
            return e.data
        }
        let decoder = JSONDecoder()
        let events = try String(decoding: try file("events.jsonl"), as: UTF8.self).split(separator: "\n").map { line in
            do { return try decoder.decode(ExportedEvent.self, from: Data(line.utf8)).event } catch {
                throw TarArchive.TarError.malformed("an event line is not valid JSON")
            }
        }
        let checkpoints = try String(decoding: try file("checkpoints.jsonl"), as: UTF8.self).split(separator: "\n").map {
            try decoder.decode(Checkpoint.self, from: Data($0.utf8))
        }
        var recordings: [String: Data] = [:]
        for e in entries where e.name.hasPrefix("recordings/") && e.name.hasSuffix(".cast") {
            recordings[String(e.name.dropFirst("recordings/".count).dropLast(".cast".count))] = e.data
        }
        let key = String(decoding: try file("audit_public_key"), as: UTF8.self)
        let withheld = entries.first { $0.name == "withheld.txt" }.map {
            String(decoding: $0.data, as: UTF8.self).split(separator: "\n").map(String.init)
        } ?? []
        return AuditBundle(events: events, checkpoints: checkpoints, recordings: recordings, publicKeyText: key, withheld: withheld)
    }

    /// Verifies against the bundle's own key, or against `expectedKey` when the auditor pins one.
    /// Withheld recordings fail it unless `acceptWithheld` (a technician checking their own export).
    public func verify(expectedKey: String? = nil, acceptWithheld: Bool = false) -> ChainVerifier.Report {
        var report = ChainVerifier.Report()
        guard let key = AuditKeyText.parse(publicKeyText) else {
            report.problems.append("the bundle's audit_public_key is not a Tandem audit key")
            return report
        }
        if let expectedKey {
            guard let pinned = AuditKeyText.parse(expectedKey), pinned.rawRepresentation == key.rawRepresentation else {
                report.problems.append("the bundle's public key is not the broker key you gave: the bundle did not come from that broker")
                return report
            }
        }
        var verifier = ChainVerifier(publicKey: key) { recordings[$0] }
        verifier.withheld = Set(withheld)
        verifier.acceptWithheld = acceptWithheld
        return verifier.verify(events: events, checkpoints: checkpoints)
    }
}

/// The exported line's shape (snake_case keys as in the canonical form).
struct ExportedEvent: Decodable {
    var id: Int64
    var chain: Int
    var seq: Int64
    var time_us: Int64
    var session: String?
    var actor: String
    var kind: String
    var data: [String: String]
    var prev: String
    var hash: String

    var event: AuditEvent {
        AuditEvent(id: id, chain: chain, seq: seq, timeMicros: time_us, session: session, actor: actor, kind: kind,
                   data: data, prev: prev, hash: hash)
    }
}

extension AuditEvent {
    /// Reads one line of `audit log` output or of `events.jsonl`.
    public static func parseExportLine(_ line: String) -> AuditEvent? {
        (try? JSONDecoder().decode(ExportedEvent.self, from: Data(line.utf8)))?.event
    }
}
