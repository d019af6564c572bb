import Synchronization

/// A `files:ask` session's memory of the end-user's "all": once they said it, no file
/// operation in the session is asked again. Read on the event loops, set once.
public final class FileConsentMemory: Sendable {
    private let all = Atomic<Bool>(false)

    public init() {}

    public var allowedAll: Bool { all.load(ordering: .relaxed) }
    public func allowAll() { all.store(true, ordering: .relaxed) }
}
