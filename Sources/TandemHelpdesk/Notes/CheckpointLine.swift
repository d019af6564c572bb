import Foundation
import TandemAudit

/// A signed checkpoint as one line on a helpdesk ticket: the outside copy of the chain's head
/// that shows when the newest events were deleted at the broker.
///
/// `tandem-checkpoint v1 chain=12 seq=57 event=301 time_us=1764071739000000 head=<hex> sig=<base64>`
public enum CheckpointLine {
    static let prefix = "tandem-checkpoint v1 "
    /// Notes with checkpoint lines read from a helpdesk ticket (newest first), and lines kept in all:
    /// anyone who can write to the ticket can post lines, and each costs a signature check.
    public static let notesRead = 500
    public static let linesKept = 2000

    public static func format(_ c: Checkpoint) -> String {
        prefix + "chain=\(c.chain) seq=\(c.seq) event=\(c.eventID) time_us=\(c.timeMicros) head=\(c.head) sig=\(c.signature)"
    }

    /// Every well-formed checkpoint line in a note's text (a line that does not parse is skipped;
    /// one whose signature is wrong is the verifier's to report).
    public static func parse(_ text: String) -> [Checkpoint] {
        var found: [Checkpoint] = []
        for raw in text.split(whereSeparator: \.isNewline).prefix(10_000) where found.count < linesKept {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard line.hasPrefix(prefix), line.utf8.count <= 1024 else { continue }
            var fields: [String: String] = [:]
            for part in line.dropFirst(prefix.count).split(separator: " ") {
                guard let eq = part.firstIndex(of: "=") else { continue }
                fields[String(part[..<eq])] = String(part[part.index(after: eq)...])
            }
            guard let chain = fields["chain"].flatMap({ Int($0) }), let seq = fields["seq"].flatMap({ Int64($0) }),
                  let event = fields["event"].flatMap({ Int64($0) }), let time = fields["time_us"].flatMap({ Int64($0) }),
                  let head = fields["head"], head.utf8.count == 64, let sig = fields["sig"], !sig.isEmpty else { continue }
            found.append(Checkpoint(id: 0, chain: chain, seq: seq, eventID: event, head: head, timeMicros: time, signature: sig))
        }
        return found
    }
}
