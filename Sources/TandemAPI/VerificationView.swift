import Foundation
import TandemAudit

/// What an online verification found.
public struct VerificationView: Codable, Sendable, Equatable {
    public var ok: Bool
    public var events: Int
    public var checkpoints: Int
    public var recordings: Int
    /// Events linked but not yet covered by a signed checkpoint.
    public var unsigned: Int
    public var problems: [String]
    /// The same, in one paragraph for people.
    public var summary: String
    /// With `--against-helpdesk`: the signed checkpoints the helpdesk ticket holds that were compared.
    public var helpdeskCheckpoints: Int?

    enum CodingKeys: String, CodingKey {
        case ok, events, checkpoints, recordings, unsigned, problems, summary, helpdeskCheckpoints = "helpdesk_checkpoints"
    }

    public init(_ report: ChainVerifier.Report) {
        ok = report.ok
        events = report.eventsChecked
        checkpoints = report.checkpointsChecked
        recordings = report.recordingsChecked
        unsigned = report.unsigned
        problems = report.problems
        summary = report.summary
    }
}
