/// SFTP version 3 (draft-ietf-secsh-filexfer-02), the version OpenSSH speaks.
public enum SFTP {
    public static let version: UInt32 = 3
    /// Largest packet we accept; OpenSSH's own limit is 256 KiB.
    public static let maxPacket = 256 * 1024 + 1024

    public enum Status: UInt32, Sendable {
        case ok = 0, eof, noSuchFile, permissionDenied, failure, badMessage, noConnection, connectionLost, unsupported
    }

    public struct OpenFlags: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let read = OpenFlags(rawValue: 0x01)
        public static let write = OpenFlags(rawValue: 0x02)
        public static let append = OpenFlags(rawValue: 0x04)
        public static let create = OpenFlags(rawValue: 0x08)
        public static let truncate = OpenFlags(rawValue: 0x10)
        public static let exclusive = OpenFlags(rawValue: 0x20)

        public var words: String {
            var w: [String] = []
            if contains(.read) { w.append("read") }
            if contains(.write) { w.append("write") }
            if contains(.append) { w.append("append") }
            if contains(.create) { w.append("create") }
            if contains(.truncate) { w.append("truncate") }
            if contains(.exclusive) { w.append("exclusive") }
            return w.joined(separator: ",")
        }
    }
}

/// File attributes as SFTP v3 carries them; nil fields are absent on the wire.
public struct SFTPAttributes: Sendable, Equatable {
    public var size: UInt64?
    public var uid: UInt32?
    public var gid: UInt32?
    public var permissions: UInt32?
    public var atime: UInt32?
    public var mtime: UInt32?

    public init(size: UInt64? = nil, uid: UInt32? = nil, gid: UInt32? = nil, permissions: UInt32? = nil,
                atime: UInt32? = nil, mtime: UInt32? = nil) {
        self.size = size
        self.uid = uid
        self.gid = gid
        self.permissions = permissions
        self.atime = atime
        self.mtime = mtime
    }

    public var isDirectory: Bool { (permissions ?? 0) & 0o170000 == 0o040000 }
    public var isSymlink: Bool { (permissions ?? 0) & 0o170000 == 0o120000 }
    public var isRegular: Bool { (permissions ?? 0) & 0o170000 == 0o100000 }
}

/// One entry of a NAME reply.
public struct SFTPName: Sendable, Equatable {
    public var filename: String
    public var longname: String
    public var attributes: SFTPAttributes
    public init(filename: String, longname: String, attributes: SFTPAttributes) {
        self.filename = filename
        self.longname = longname
        self.attributes = attributes
    }
}

/// Every SFTP v3 packet we read or write.
public enum SFTPMessage: Sendable, Equatable {
    case initialize(version: UInt32)
    case version(UInt32, extensions: [String: String])
    case open(id: UInt32, path: String, flags: SFTP.OpenFlags, attributes: SFTPAttributes)
    case close(id: UInt32, handle: [UInt8])
    case read(id: UInt32, handle: [UInt8], offset: UInt64, length: UInt32)
    case write(id: UInt32, handle: [UInt8], offset: UInt64, data: [UInt8])
    case lstat(id: UInt32, path: String)
    case fstat(id: UInt32, handle: [UInt8])
    case setstat(id: UInt32, path: String, attributes: SFTPAttributes)
    case fsetstat(id: UInt32, handle: [UInt8], attributes: SFTPAttributes)
    case opendir(id: UInt32, path: String)
    case readdir(id: UInt32, handle: [UInt8])
    case remove(id: UInt32, path: String)
    case mkdir(id: UInt32, path: String, attributes: SFTPAttributes)
    case rmdir(id: UInt32, path: String)
    case realpath(id: UInt32, path: String)
    case stat(id: UInt32, path: String)
    case rename(id: UInt32, from: String, to: String)
    case readlink(id: UInt32, path: String)
    /// OpenSSH sends the target first, then the link path (the reverse of the draft).
    case symlink(id: UInt32, target: String, link: String)
    case extended(id: UInt32, name: String, payload: [UInt8])
    case status(id: UInt32, code: UInt32, message: String)
    case handle(id: UInt32, handle: [UInt8])
    case data(id: UInt32, data: [UInt8])
    case name(id: UInt32, names: [SFTPName])
    case attrs(id: UInt32, attributes: SFTPAttributes)
    /// A well-framed packet of a type we do not know.
    case unknown(type: UInt8, id: UInt32?)

    /// The request id, for matching replies; nil for INIT/VERSION.
    public var id: UInt32? {
        switch self {
        case .initialize, .version: return nil
        case .open(let id, _, _, _), .close(let id, _), .read(let id, _, _, _), .write(let id, _, _, _),
             .lstat(let id, _), .fstat(let id, _), .setstat(let id, _, _), .fsetstat(let id, _, _), .opendir(let id, _),
             .readdir(let id, _), .remove(let id, _), .mkdir(let id, _, _), .rmdir(let id, _), .realpath(let id, _),
             .stat(let id, _), .rename(let id, _, _), .readlink(let id, _), .symlink(let id, _, _), .extended(let id, _, _),
             .status(let id, _, _), .handle(let id, _), .data(let id, _), .name(let id, _), .attrs(let id, _):
            return id
        case .unknown(_, let id): return id
        }
    }
}
