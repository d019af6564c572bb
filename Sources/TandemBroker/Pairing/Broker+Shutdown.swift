@preconcurrency import Crypto
import Foundation
import TandemAudit
import TandemCore
import TandemStore
import TandemText

// MARK: - Stopping without losing a byte, and starting after a crash

extension Broker {
    /// A channel whose start is on record never reached the agent: its end is recorded with nothing moved.
    func abandonChannel(_ id: SessionID, ticket: Int, kind: String, actor: String) {
        closeChannel(id, ticket: ticket, ChannelClosed(channel: kind, bytesToAgent: 0, bytesFromAgent: 0), actor: actor)
    }

    /// Ends every live session with `reason` (both sides are told), waits until each channel's
    /// recording is finished and named (at most `grace`), then counts refused guesses and signs
    /// every chain: what the broker has is on record and proven when it exits.
    public func stop(reason: String, grace: Duration) async {
        stopping = true
        for task in recoveries { task.cancel() }
        recoveries = []
        for id in Array(live.keys) { end(id, reason: reason, actor: "broker") }
        if openChannels > 0 {
            let token = UUID()
            Task { [weak self] in
                try? await Task.sleep(for: grace)
                await self?.resumeDrainWaiters(timedOut: token)
            }
            await withCheckedContinuation { drainWaiters.append((token, $0)) }
        }
        if openChannels > 0 { logger.warning("stopping with \(openChannels) channel(s) not yet on record after \(grace)") }
        for id in Array(live.keys) { writeEnded(id, late: true) }
        recordGuessSummaries(all: true)
        await checkpointAll()
    }

    func resumeDrainWaiters(timedOut token: UUID? = nil) {
        let waiting = token.map { t in drainWaiters.filter { $0.token == t } } ?? drainWaiters
        drainWaiters.removeAll { w in waiting.contains { $0.token == w.token } }
        for w in waiting { w.continuation.resume() }
    }

    /// Finishes the recordings a crashed broker left as `.part` files: each is hashed, named by its
    /// SHA-256 and put on its session's ticket (`recording_recovered`), so a crash loses no recorded byte.
    public func recoverPartialRecordings() async {
        let dir = config.recordingsDirectory
        let partsDir = config.partsDirectory
        let (finished, failures) = await Task.detached { UnfinishedRecording.finishAll(in: partsDir, into: dir) }.value
        for failure in failures {
            logger.error("cannot finish the recording \(failure.file): \(TerminalText.field(failure.reason, limit: 300)); it is left in place")
        }
        await recordRecovered(finished, reason: "the broker stopped before the recording was finished")
        let captures = config.filesDirectory
        for part in ((try? FileManager.default.contentsOfDirectory(atPath: captures)) ?? []) where part.hasSuffix(".part") {
            // A capture is kept only for a whole file; a cut one proves nothing, and no event names it.
            try? FileManager.default.removeItem(atPath: captures + "/" + part)
        }
    }

    /// Puts recordings finished in another's stead on their sessions' tickets.
    func recordRecovered(_ finished: [UnfinishedRecording], reason: String) async {
        for recording in finished {
            let session = recording.session.map { SessionID(rawValue: $0) }
            let ticket = if let session { ((try? await store.session(id: session)) ?? nil)?.ticketID } else { Int?.none }
            record(RecordingRecovered(recordingSha256: recording.sha256, recordingBytes: recording.bytes, file: recording.file, reason: reason),
                   ticket: ticket, session: session, actor: "broker")
            logger.notice("finished the recording \(recording.file) (\(reason)): \(recording.sha256).cast")
        }
    }

    /// Whether a load balancer should send this broker new connections: not while it stops or its disk is full.
    public var takesNewSessions: Bool { !stopping && storageTrouble == nil }
}
