// Work in a session: shells, commands, file transfers, and what was refused.

/// A technician opened a shell.
public struct ShellStarted: EventPayload {
    public static let kind = EventKind.shellStarted
    public var size: String

    public init(size: String) {
        self.size = size
    }
}

/// A technician opened a file transfer channel.
public struct SFTPStarted: EventPayload {
    public static let kind = EventKind.sftpStarted

    public init() {}
}

/// A technician ran one command (the whole command line).
public struct Exec: EventPayload {
    public static let kind = EventKind.exec
    public var command: String

    public init(command: String) {
        self.command = command
    }
}

/// A channel ended: bytes each way, exit status, and its recording by SHA-256.
public struct ChannelClosed: EventPayload {
    public static let kind = EventKind.channelClosed
    public var channel: String
    public var bytesToAgent: Int
    public var bytesFromAgent: Int
    public var exitStatus: Int?
    public var recordingSha256: String?
    public var recordingBytes: Int?
    public var recordingIncomplete: String?

    public init(channel: String, bytesToAgent: Int, bytesFromAgent: Int, exitStatus: Int? = nil, recordingSha256: String? = nil, recordingBytes: Int? = nil, recordingIncomplete: String? = nil) {
        self.channel = channel
        self.bytesToAgent = bytesToAgent
        self.bytesFromAgent = bytesFromAgent
        self.exitStatus = exitStatus
        self.recordingSha256 = recordingSha256
        self.recordingBytes = recordingBytes
        self.recordingIncomplete = recordingIncomplete
    }
}

/// A file was read or written whole (with its SHA-256) or in part.
public struct FileTransfer: EventPayload {
    public static let kind = EventKind.fileTransfer
    public var path: String
    public var flags: String
    public var direction: String
    public var bytes: Int
    public var sha256: String?
    public var contentSha256: String?
    public var status: String?

    public init(path: String, flags: String, direction: String, bytes: Int, sha256: String? = nil, contentSha256: String? = nil, status: String? = nil) {
        self.path = path
        self.flags = flags
        self.direction = direction
        self.bytes = bytes
        self.sha256 = sha256
        self.contentSha256 = contentSha256
        self.status = status
    }
}

/// A file was still open when its channel closed.
public struct FileTransferInterrupted: EventPayload {
    public static let kind = EventKind.fileTransferInterrupted
    public var path: String
    public var bytesWritten: Int
    public var bytesRead: Int

    public init(path: String, bytesWritten: Int, bytesRead: Int) {
        self.path = path
        self.bytesWritten = bytesWritten
        self.bytesRead = bytesRead
    }
}

/// A file operation succeeded (list, remove, rename, mkdir, …).
public struct FileOp: EventPayload {
    public static let kind = EventKind.fileOp
    public var op: String
    public var path: String
    public var to: String?
    public var target: String?

    public init(op: String, path: String, to: String? = nil, target: String? = nil) {
        self.op = op
        self.path = path
        self.to = to
        self.target = target
    }
}

/// The end-user answered a question about one file operation (a `files:ask` session); the
/// actor is the end-user, `technician` who asked.
public struct FileConsent: EventPayload {
    public static let kind = EventKind.fileConsent
    public var op: String
    public var path: String
    public var to: String?
    /// allowed, refused, allowed_all or no_answer
    public var answer: String
    public var technician: String

    public init(op: String, path: String, to: String? = nil, answer: String, technician: String) {
        self.op = op
        self.path = path
        self.to = to
        self.answer = answer
        self.technician = technician
    }
}

/// A file operation failed on the user's machine.
public struct FileOpFailed: EventPayload {
    public static let kind = EventKind.fileOpFailed
    public var op: String
    public var path: String
    public var status: String
    public var message: String
    public var flags: String?

    public init(op: String, path: String, status: String, message: String, flags: String? = nil) {
        self.op = op
        self.path = path
        self.status = status
        self.message = message
        self.flags = flags
    }
}

/// A remote name was not a safe local path (named by the broker or the client), or many were.
public struct FileNameRefused: EventPayload {
    public static let kind = EventKind.fileNameRefused
    public var path: String?
    public var name: String?
    public var reason: String
    public var detail: String?
    public var count: Int?
    public var reportedBy: String

    public init(path: String? = nil, name: String? = nil, reason: String, detail: String? = nil, count: Int? = nil, reportedBy: String) {
        self.path = path
        self.name = name
        self.reason = reason
        self.detail = detail
        self.count = count
        self.reportedBy = reportedBy
    }
}

/// A file request type the broker does not know passed through.
public struct SFTPUnknownRequest: EventPayload {
    public static let kind = EventKind.sftpUnknownRequest
    public var type: Int

    public init(type: Int) {
        self.type = type
    }
}

/// A file packet did not parse.
public struct SFTPMalformed: EventPayload {
    public static let kind = EventKind.sftpMalformed
    public var from: String
    public var problem: String
    public var action: String?

    public init(from: String, problem: String, action: String? = nil) {
        self.from = from
        self.problem = problem
        self.action = action
    }
}

/// Someone asked for what their role does not allow.
public struct PermissionDenied: EventPayload {
    public static let kind = EventKind.permissionDenied
    public var command: String
    public var role: String
    public var reason: String

    public init(command: String, role: String, reason: String) {
        self.command = command
        self.role = role
        self.reason = reason
    }
}

/// Someone tried to use a session that is not theirs.
public struct AttachRefused: EventPayload {
    public static let kind = EventKind.attachRefused
    public var reason: String

    public init(reason: String) {
        self.reason = reason
    }
}

/// A channel or request was refused: a scope not granted, or a kind the broker never relays.
public struct ChannelRefused: EventPayload {
    public static let kind = EventKind.channelRefused
    public var reason: String?
    public var scope: String?
    public var request: String?
    public var detail: String?

    public init(reason: String? = nil, scope: String? = nil, request: String? = nil, detail: String? = nil) {
        self.reason = reason
        self.scope = scope
        self.request = request
        self.detail = detail
    }
}

/// Port forwarding was asked for and refused.
public struct PortForwardRefused: EventPayload {
    public static let kind = EventKind.portForwardRefused
    public var request: String
    public var target: String

    public init(request: String, target: String) {
        self.request = request
        self.target = target
    }
}
