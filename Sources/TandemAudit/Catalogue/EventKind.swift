/// Every kind of event the broker writes: the audit log's catalogue.
///
/// The raw values are the `kind` strings of docs/audit-format.md; each kind has exactly one
/// payload type, so a producer cannot write a kind with the wrong fields.
public enum EventKind: String, CaseIterable, Sendable {
    // Tickets and people
    case ticketCreated = "ticket_created"
    case ticketAssigned = "ticket_assigned"
    case userAdded = "user_added"
    case userRemoved = "user_removed"
    case userDisabled = "user_disabled"
    case userEnabled = "user_enabled"
    case userKeyAdded = "user_key_added"
    case userKeyRemoved = "user_key_removed"
    case tokenCreated = "token_created"
    case tokenRevoked = "token_revoked"
    case consoleSignedIn = "console_signed_in"
    case consoleSignedOut = "console_signed_out"
    // Pairing and consent
    case sessionRequested = "session_requested"
    case codeIssued = "code_issued"
    case codeExpired = "code_expired"
    case joinRefused = "join_refused"
    case joinRefusalsCounted = "join_refusals_counted"
    case joinAccepted = "join_accepted"
    case offered
    case approved
    case refused
    case started
    case ended
    case participantJoined = "participant_joined"
    case participantRefused = "participant_refused"
    case participantLeft = "participant_left"
    case agentDisconnected = "agent_disconnected"
    case agentResumed = "agent_resumed"
    case technicianDisconnected = "technician_disconnected"
    case technicianResumed = "technician_resumed"
    case resumeRefused = "resume_refused"
    // Work in a session
    case shellStarted = "shell_started"
    case sftpStarted = "sftp_started"
    case exec
    case channelClosed = "channel_closed"
    case fileTransfer = "file_transfer"
    case fileTransferInterrupted = "file_transfer_interrupted"
    case fileOp = "file_op"
    case fileOpFailed = "file_op_failed"
    case fileConsent = "file_consent"
    case fileNameRefused = "file_name_refused"
    case sftpUnknownRequest = "sftp_unknown_request"
    case sftpMalformed = "sftp_malformed"
    // Refusals
    case permissionDenied = "permission_denied"
    case attachRefused = "attach_refused"
    case channelRefused = "channel_refused"
    case portForwardRefused = "port_forward_refused"
    // Records and the broker itself
    case exported
    case recordingViewed = "recording_viewed"
    case captureDownloaded = "capture_downloaded"
    case liveWatched = "live_watched"
    case recordingFailed = "recording_failed"
    case recordingRecovered = "recording_recovered"
    case storageFull = "storage_full"
    case storageRecovered = "storage_recovered"

    /// The one payload type this kind carries.
    public var payloadType: any EventPayload.Type {
        switch self {
        case .ticketCreated: TicketCreated.self
        case .ticketAssigned: TicketAssigned.self
        case .userAdded: UserAdded.self
        case .userRemoved: UserRemoved.self
        case .userDisabled: UserDisabled.self
        case .userEnabled: UserEnabled.self
        case .userKeyAdded: UserKeyAdded.self
        case .userKeyRemoved: UserKeyRemoved.self
        case .tokenCreated: TokenCreated.self
        case .tokenRevoked: TokenRevoked.self
        case .consoleSignedIn: ConsoleSignedIn.self
        case .consoleSignedOut: ConsoleSignedOut.self
        case .sessionRequested: SessionRequested.self
        case .codeIssued: CodeIssued.self
        case .codeExpired: CodeExpired.self
        case .joinRefused: JoinRefused.self
        case .joinRefusalsCounted: JoinRefusalsCounted.self
        case .joinAccepted: JoinAccepted.self
        case .offered: Offered.self
        case .approved: Approved.self
        case .refused: Refused.self
        case .started: Started.self
        case .ended: Ended.self
        case .participantJoined: ParticipantJoined.self
        case .participantRefused: ParticipantRefused.self
        case .participantLeft: ParticipantLeft.self
        case .agentDisconnected: AgentDisconnected.self
        case .agentResumed: AgentResumed.self
        case .technicianDisconnected: TechnicianDisconnected.self
        case .technicianResumed: TechnicianResumed.self
        case .resumeRefused: ResumeRefused.self
        case .shellStarted: ShellStarted.self
        case .sftpStarted: SFTPStarted.self
        case .exec: Exec.self
        case .channelClosed: ChannelClosed.self
        case .fileTransfer: FileTransfer.self
        case .fileTransferInterrupted: FileTransferInterrupted.self
        case .fileOp: FileOp.self
        case .fileOpFailed: FileOpFailed.self
        case .fileConsent: FileConsent.self
        case .fileNameRefused: FileNameRefused.self
        case .sftpUnknownRequest: SFTPUnknownRequest.self
        case .sftpMalformed: SFTPMalformed.self
        case .permissionDenied: PermissionDenied.self
        case .attachRefused: AttachRefused.self
        case .channelRefused: ChannelRefused.self
        case .portForwardRefused: PortForwardRefused.self
        case .exported: Exported.self
        case .recordingViewed: RecordingViewed.self
        case .captureDownloaded: CaptureDownloaded.self
        case .liveWatched: LiveWatched.self
        case .recordingFailed: RecordingFailed.self
        case .recordingRecovered: RecordingRecovered.self
        case .storageFull: StorageFull.self
        case .storageRecovered: StorageRecovered.self
        }
    }
}
