import Foundation
import TandemCore

/// Everything `tandemd serve` needs to know, fixed at start.
public struct BrokerConfig: Sendable {
    public var dataDirectory: String
    public var host: String = "127.0.0.1"
    public var port: Int = 8443
    public var certificatePath: String
    public var keyPath: String
    /// How long a session code stays valid.
    public var codeLifetime: TimeInterval = 600
    public var guessLimits = GuessLimiter.Limits()
    /// A connection that has not finished TLS and its first message by then is dropped.
    public var handshakeTimeout: TimeInterval = 20
    /// How long the agent's user may think about the offer.
    public var consentTimeout: TimeInterval = 300
    public var defaultTimeLimit: Int = 3600
    /// Seconds without input or output before a session ends (`idle-limit`; a session may ask for another).
    public var idleLimit: Int = 900
    /// A chain is signed after this many new events, at every session end, and on the interval.
    public var checkpointEvery: Int = 100
    public var checkpointInterval: TimeInterval = 60
    /// Keep a copy of every whole file transferred (off by default), up to this many bytes each.
    public var captureFiles = false
    public var captureLimit = 100 * 1024 * 1024
    /// What a session does when it cannot be recorded: end (the default) or go on unrecorded.
    public var onRecordingFailure = RecordingFailurePolicy.endSession
    /// Most bytes of recordings one session may write.
    public var maxRecordingBytes = 1 << 30
    /// Kept free as a file, and released when the disk fills, so the end of every session can still be written.
    public var storageReserveBytes = 8 << 20
    /// Seconds a session waits for a side whose connection dropped to come back (`resume-grace`; 0: never).
    public var resumeGrace = 120
    /// Whether auditors may watch a running shell live, and how the end-user learns of it (`live-watch`).
    public var liveWatch = LiveWatchPolicy.tell
    /// Load balancers whose connections start with a PROXY v2 header naming the client (`proxy-from`).
    public var proxyFrom: Set<String> = []
    /// The console's script and style, and asciinema-player when `console-assets` names it (checked at start).
    public var consoleAssets = ConsoleAssets.builtIn

    public init(dataDirectory: String, certificatePath: String, keyPath: String) {
        self.dataDirectory = dataDirectory
        self.certificatePath = certificatePath
        self.keyPath = keyPath
    }

    public var databasePath: String { dataDirectory + "/tandem.db" }
    /// Where finished recordings go (`recordings`): the data folder's by default, or a folder
    /// several replicas share, so any of them can verify and export every session.
    public var recordingsOverride: String?
    /// Set for one of several replicas: names its own folder of unfinished recordings.
    public var partsTag: String?
    public var recordingsDirectory: String { recordingsOverride ?? dataDirectory + "/recordings" }
    /// Where recordings are written until finished: beside the finished ones for a broker alone;
    /// `parts-TAG` inside them for a replica, so a replica that restarts finishes only its own.
    public var partsDirectory: String { partsTag.map { recordingsDirectory + "/parts-" + $0 } ?? recordingsDirectory }
    public var filesDirectory: String { dataDirectory + "/files" }
    public var reservePath: String { dataDirectory + "/storage.reserve" }
}

/// `live-watch`: auditors and admins watching a shell live (the console, `tandem join` by an
/// auditor) are allowed with the end-user told (`tell`), allowed once the user agrees (`ask`),
/// or not at all (`off`). Technicians joining another's session are always asked.
public enum LiveWatchPolicy: String, Sendable, CaseIterable {
    case tell, ask, off
}

/// `on-recording-failure`: fail closed (end the session) or carry on without a recording.
public enum RecordingFailurePolicy: String, Sendable, CaseIterable {
    case endSession = "end-session"
    case continueUnrecorded = "continue"
}
