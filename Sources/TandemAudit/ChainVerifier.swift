@preconcurrency import Crypto
import Foundation

/// Checks one or more audit chains: links, hashes, signed checkpoints and recordings.
///
/// It reports the first broken link of each kind in words an auditor can act on.
public struct ChainVerifier {
    public struct Report: Sendable, Equatable {
        public var eventsChecked = 0
        public var checkpointsChecked = 0
        public var recordingsChecked = 0
        /// Recordings named in the chain but left out of the bundle on purpose (not the exporter's to read).
        public var recordingsWithheld = 0
        /// The sessions those recordings belong to.
        public var withheldSessions: Set<String> = []
        /// Events after the last checkpoint of their chain: linked, but not yet signed.
        public var unsigned = 0
        public var problems: [String] = []
        public var ok: Bool { problems.isEmpty }

        public var summary: String {
            if ok {
                var text = "OK: \(eventsChecked) events, \(checkpointsChecked) signed checkpoints, \(recordingsChecked) recordings verified."
                if unsigned > 0 { text += " \(unsigned) newest event(s) are linked but not yet covered by a checkpoint." }
                if recordingsWithheld > 0 {
                    text += " \(recordingsWithheld) recording(s) withheld (sessions \(withheldSessions.sorted().joined(separator: ", "))):"
                        + " the chain names their SHA-256, this bundle does not hold their content."
                }
                return text
            }
            return "FAILED: " + problems.joined(separator: "\nFAILED: ")
        }
    }

    public let publicKey: Curve25519.Signing.PublicKey
    /// Returns a recording's bytes by its SHA-256, or nil when it is missing.
    public let recording: (String) -> Data?

    /// At the broker itself (`tandemd check`) a chain not signed yet is normal: the broker signs
    /// it on its timer. In a bundle handed to an auditor it is a failure.
    public var allowUnsignedChains = false
    /// Recordings the exporter was not allowed to include (`withheld.txt`). The list is not signed,
    /// so a bundle that withholds any fails unless the reader accepts that (`acceptWithheld`).
    public var withheld: Set<String> = []
    public var acceptWithheld = false

    public init(publicKey: Curve25519.Signing.PublicKey, allowUnsignedChains: Bool = false, recording: @escaping (String) -> Data?) {
        self.publicKey = publicKey
        self.allowUnsignedChains = allowUnsignedChains
        self.recording = recording
    }

    public func verify(events: [AuditEvent], checkpoints: [Checkpoint]) -> Report {
        var report = Report()
        let chains = Dictionary(grouping: events, by: \.chain)
        let marks = Dictionary(grouping: checkpoints, by: \.chain)
        for chain in Set(chains.keys).union(marks.keys).sorted() {
            verifyChain(chain, events: (chains[chain] ?? []).sorted { $0.seq < $1.seq },
                        checkpoints: (marks[chain] ?? []).sorted { $0.seq < $1.seq }, into: &report)
        }
        return report
    }

    private func name(_ chain: Int) -> String { chain == 0 ? "broker log" : "ticket #\(chain)" }

    private func verifyChain(_ chain: Int, events: [AuditEvent], checkpoints: [Checkpoint], into report: inout Report) {
        var previousHash = AuditEvent.genesis
        var expectedSeq: Int64 = 1
        var hashes: [Int64: String] = [:]
        for event in events {
            report.eventsChecked += 1
            if event.seq != expectedSeq {
                report.problems.append("\(name(chain)): event #\(expectedSeq) of the chain is missing (the next one present is #\(event.seq), id \(event.id)): events were deleted")
                return
            }
            if event.computeHash() != event.hash {
                report.problems.append("\(name(chain)): event #\(event.seq) (id \(event.id), \(event.kind)) was altered: its content does not match its hash")
                return
            }
            if event.prev != previousHash {
                report.problems.append("\(name(chain)): event #\(event.seq) (id \(event.id)) does not link to the event before it: the chain was edited")
                return
            }
            if let sha = event.data["recording_sha256"], withheld.contains(sha), recording(sha) == nil {
                report.recordingsWithheld += 1
                report.withheldSessions.insert(event.session ?? "-")
                if !acceptWithheld {
                    report.problems.append("\(name(chain)): recording \(sha).cast of session \(event.session ?? "-") was withheld from this bundle, "
                                           + "so nothing here proves its content: ask an auditor for a complete export (or pass --allow-withheld)")
                }
            } else if let sha = event.data["recording_sha256"] {
                report.recordingsChecked += 1
                if let bytes = recording(sha) {
                    let actual = SHA256.hash(data: bytes).hexString
                    if actual != sha {
                        report.problems.append("\(name(chain)): recording \(sha).cast named by event #\(event.seq) (id \(event.id)) was altered (its SHA-256 is now \(actual))")
                    }
                } else {
                    report.problems.append("\(name(chain)): recording \(sha).cast named by event #\(event.seq) (id \(event.id)) is missing")
                }
            }
            hashes[event.seq] = event.hash
            previousHash = event.hash
            expectedSeq += 1
        }
        var lastSigned: Int64 = 0
        for mark in checkpoints {
            report.checkpointsChecked += 1
            guard mark.isValid(publicKey: publicKey) else {
                report.problems.append("\(name(chain)): checkpoint at event #\(mark.seq) has an invalid signature: wrong public key, or the checkpoint was altered")
                return
            }
            guard let hash = hashes[mark.seq] else {
                report.problems.append("\(name(chain)): the signed checkpoint covers event #\(mark.seq) but the chain ends at #\(expectedSeq - 1): events were deleted")
                return
            }
            guard hash == mark.head else {
                report.problems.append("\(name(chain)): event #\(mark.seq) differs from the one the broker signed at its checkpoint")
                return
            }
            lastSigned = max(lastSigned, mark.seq)
        }
        if lastSigned == 0 && !events.isEmpty && !allowUnsignedChains {
            report.problems.append("\(name(chain)): no signed checkpoint covers these events, so nothing proves they come from the broker")
            return
        }
        report.unsigned += Int(expectedSeq - 1 - lastSigned)
    }
}
