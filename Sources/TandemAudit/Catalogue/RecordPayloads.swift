// The record itself: reading it, and the broker's storage.

/// A ticket's record was exported.
public struct Exported: EventPayload {
    public static let kind = EventKind.exported

    public init() {}
}

/// Someone read a recording.
public struct RecordingViewed: EventPayload {
    public static let kind = EventKind.recordingViewed
    public var recordingSha256: String

    public init(recordingSha256: String) {
        self.recordingSha256 = recordingSha256
    }
}

/// Someone (an auditor or an admin) downloaded the broker's copy of a transferred file.
public struct CaptureDownloaded: EventPayload {
    public static let kind = EventKind.captureDownloaded
    public var sha256: String

    public init(sha256: String) {
        self.sha256 = sha256
    }
}

/// Someone (an auditor or an admin) began to watch a running shell, read-only, in the console.
public struct LiveWatched: EventPayload {
    public static let kind = EventKind.liveWatched
    /// Where they watch from: `console`.
    public var via: String

    public init(via: String) {
        self.via = via
    }
}

/// A recording could not be written and the session went on, as the operator chose.
public struct RecordingFailed: EventPayload {
    public static let kind = EventKind.recordingFailed
    public var reason: String
    public var policy: String

    public init(reason: String, policy: String) {
        self.reason = reason
        self.policy = policy
    }
}

/// A recording a stopped broker left unfinished was hashed and named at the next start.
public struct RecordingRecovered: EventPayload {
    public static let kind = EventKind.recordingRecovered
    public var recordingSha256: String
    public var recordingBytes: Int
    public var file: String
    public var reason: String

    public init(recordingSha256: String, recordingBytes: Int, file: String, reason: String) {
        self.recordingSha256 = recordingSha256
        self.recordingBytes = recordingBytes
        self.file = file
        self.reason = reason
    }
}

/// The broker's disk filled: sessions that cannot be recorded end.
public struct StorageFull: EventPayload {
    public static let kind = EventKind.storageFull
    public var detail: String

    public init(detail: String) {
        self.detail = detail
    }
}

/// The broker's disk has room again.
public struct StorageRecovered: EventPayload {
    public static let kind = EventKind.storageRecovered
    public var freeBytes: Int

    public init(freeBytes: Int) {
        self.freeBytes = freeBytes
    }
}
