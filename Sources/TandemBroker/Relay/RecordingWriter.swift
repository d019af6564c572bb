import Dispatch

/// The one thread that encodes and writes every shell recording.
///
/// One serial queue for all recorders, and one pending flush for all of them: with
/// thousands of sessions, a queue and a timer per recording kept waking threads for
/// a few bytes each (a third of the broker's CPU at 2,000 sessions).
final class RecordingWriter: @unchecked Sendable {
    // Unchecked: `dirty` and `flushScheduled` are only touched on `queue`.
    static let shared = RecordingWriter()

    let queue = DispatchQueue(label: "tandem.recordings")
    private var dirty: [ObjectIdentifier: AsciicastRecorder] = [:]
    private var flushScheduled = false
    static let delay = DispatchTimeInterval.milliseconds(500)

    /// Call on `queue`: `recorder` has lines not yet written; they go out within `delay`.
    func markDirty(_ recorder: AsciicastRecorder) {
        dispatchPrecondition(condition: .onQueue(queue))
        dirty[ObjectIdentifier(recorder)] = recorder
        guard !flushScheduled else { return }
        flushScheduled = true
        queue.asyncAfter(deadline: .now() + Self.delay) { [self] in
            flushScheduled = false
            let due = dirty
            dirty.removeAll(keepingCapacity: true)
            for recorder in due.values { recorder.writeBatch() }
        }
    }

    /// Call on `queue`: `recorder` is finished and needs no flush.
    func forget(_ recorder: AsciicastRecorder) {
        dirty.removeValue(forKey: ObjectIdentifier(recorder))
    }
}
