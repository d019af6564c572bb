import CoreMetrics
import Foundation

/// The broker's metrics, through swift-metrics (served in Prometheus' text format by `MetricsService`).
/// Names and labels are fixed here, so dashboards and the tests read one list.
public enum BrokerMetrics {
    /// Live sessions by state (`pending`, `offered`, `approved`, `active`).
    static func liveSessions(_ counts: [String: Int]) {
        for state in ["pending", "offered", "approved", "active"] {
            Gauge(label: "tandem_sessions", dimensions: [("state", state)]).record(counts[state] ?? 0)
        }
    }

    /// A pairing's first outcome: `approved` (the agent's SSH is up), `refused`, `expired`, or
    /// `ended_before_approval` (stopped, or SSH to the agent failed, before it was up).
    static func pairing(_ outcome: String) {
        Counter(label: "tandem_pairings_total", dimensions: [("outcome", outcome)]).increment()
    }

    /// A refusal put on record, by its event kind (`join_refused`, `permission_denied`, …).
    static func refusal(_ kind: String) {
        Counter(label: "tandem_refusals_total", dimensions: [("kind", kind)]).increment()
    }

    /// A wrong or rate-limited session code.
    static func guessRefused(_ reason: String) {
        Counter(label: "tandem_code_guesses_refused_total", dimensions: [("reason", reason)]).increment()
    }

    /// Bytes a channel moved, counted when it closes.
    static func relayed(toAgent: Int, fromAgent: Int) {
        Counter(label: "tandem_bytes_relayed_total", dimensions: [("direction", "to_agent")]).increment(by: toAgent)
        Counter(label: "tandem_bytes_relayed_total", dimensions: [("direction", "from_agent")]).increment(by: fromAgent)
    }

    /// How long one batch of events took to become durable.
    static func appendLatency(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        Timer(label: "tandem_event_append_seconds").recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    /// How long the oldest event not yet covered by a signed checkpoint has waited (0 when all are signed).
    static func checkpointAge(_ seconds: Double) {
        Gauge(label: "tandem_checkpoint_age_seconds").record(seconds)
    }

    /// A connection that failed in TLS or before it said who it is.
    static func handshakeFailed(_ stage: String) {
        Counter(label: "tandem_handshake_failures_total", dimensions: [("stage", stage)]).increment()
    }
}

extension BrokerMetrics {
    /// Outbox rows that reached a sink (`delivered`), wait for another try (`retry`), or were refused for good (`failed`).
    static func delivery(sink: String, outcome: String, count: Int) {
        Counter(label: "tandem_outbox_deliveries_total", dimensions: [("sink", sink), ("outcome", outcome)]).increment(by: count)
    }

    /// Rows still owed to each sink, and rows it refused for good.
    static func outboxDepth(sink: String, waiting: Int, failed: Int) {
        Gauge(label: "tandem_outbox_depth", dimensions: [("sink", sink)]).record(waiting)
        Gauge(label: "tandem_outbox_failed", dimensions: [("sink", sink)]).record(failed)
    }
}
