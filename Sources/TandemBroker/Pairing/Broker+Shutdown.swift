@preconcurrency import Crypto
import Foundation
import TandemAudit
import TandemCore
import TandemStore

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
        let parts = ((try? FileManager.default.contentsOfDirectory(atPath: partsDir)) ?? []).filter { $0.hasSuffix(".part") }.sorted()
        for part in parts {
            let path = partsDir + "/" + part
            guard let bytes = FileManager.default.contents(atPath: path) else {
                logger.error("cannot read the unfinished recording \(part); it is left in place")
                continue
            }
            let sha = SHA256.hash(data: bytes).hexString
            do {
                try AsciicastRecorder.name(path, sha256: sha, in: dir)
            } catch {
                logger.error("cannot finish the recording \(part): \(error); it is left in place")
                continue
            }
            // Recordings are named "<session>-<milliseconds>.part".
            let name = String(part.dropLast(".part".count))
            let session = name.lastIndex(of: "-").map { SessionID(rawValue: String(name[..<$0])) }
            let ticket = if let session { ((try? await store.session(id: session)) ?? nil)?.ticketID } else { Int?.none }
            record(RecordingRecovered(recordingSha256: sha, recordingBytes: bytes.count, file: part,
                                      reason: "the broker stopped before the recording was finished"),
                   ticket: ticket, session: session, actor: "broker")
            logger.notice("finished the recording \(part) left by a broker that stopped: \(sha).cast")
        }
        let captures = config.filesDirectory
        for part in ((try? FileManager.default.contentsOfDirectory(atPath: captures)) ?? []) where part.hasSuffix(".part") {
            // A capture is kept only for a whole file; a cut one proves nothing, and no event names it.
            try? FileManager.default.removeItem(atPath: captures + "/" + part)
        }
    }

    /// Whether a load balancer should send this broker new connections: not while it stops or its disk is full.
    public var takesNewSessions: Bool { !stopping && storageTrouble == nil }
}
