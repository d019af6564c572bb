import Dispatch
import Synchronization

/// The one thread that encodes and writes every shell recording.
///
/// One serial queue for all recorders, woken on a tick rather than per chunk: with
/// thousands of sessions, a queue and a wake-up per recording and per keystroke kept
/// threads switching for a few bytes each (a third of the broker's CPU at 2,000 sessions).
final class RecordingWriter: @unchecked Sendable {
    // Unchecked: `dirty` and `flushScheduled` are only touched on `queue`; `waiting` is a Mutex.
    static let shared = RecordingWriter()

    let queue = DispatchQueue(label: "tandem.recordings")
    /// Recorders with chunks not yet encoded.
    private let waiting = Mutex<[ObjectIdentifier: AsciicastRecorder]>([:])
    /// Recorders with encoded lines not yet written.
    private var dirty: [ObjectIdentifier: AsciicastRecorder] = [:]
    private var flushScheduled = false
    static let tick = DispatchTimeInterval.milliseconds(100)
    static let delay = DispatchTimeInterval.milliseconds(500)

    /// Any thread: `recorder` has chunks to encode; they are taken within `tick`.
    func collect(_ recorder: AsciicastRecorder) {
        let schedule = waiting.withLock { w -> Bool in
            w[ObjectIdentifier(recorder)] = recorder
            return w.count == 1
        }
        guard schedule else { return }
        queue.asyncAfter(deadline: .now() + Self.tick) { [self] in
            let due = waiting.withLock { w in
                defer { w.removeAll(keepingCapacity: true) }
                return w
            }
            for recorder in due.values { recorder.drain() }
        }
    }

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
        _ = waiting.withLock { $0.removeValue(forKey: ObjectIdentifier(recorder)) }
    }
}
