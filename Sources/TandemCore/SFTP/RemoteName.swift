/// What a name sent by another machine may become on this side.
///
/// A directory listing comes from the end-user's machine, which may be hostile to the
/// technician: a name must be exactly one path component, and a symbolic link is only
/// recreated when what it points at stays inside the folder being copied. The broker
/// (recording) and the CLI (refusing) use these same checks.
public enum RemoteName {
    /// Why a name cannot be used as one path component.
    public enum Problem: String, Sendable, Equatable {
        case empty
        case dot
        case dotDot = "dot_dot"
        case slash = "contains_slash"
        case nul = "contains_nul"
        /// Longer than any file name a file system accepts.
        case tooLong = "too_long"

        public var words: String {
            switch self {
            case .empty: return "an empty name"
            case .dot: return "the name '.'"
            case .dotDot: return "the name '..'"
            case .slash: return "a name containing '/'"
            case .nul: return "a name containing a NUL byte"
            case .tooLong: return "a name longer than 255 bytes"
            }
        }
    }

    public static func problem(_ name: String) -> Problem? {
        if name.isEmpty { return .empty }
        if name == "." { return .dot }
        if name == ".." { return .dotDot }
        if name.utf8.contains(UInt8(ascii: "/")) { return .slash }
        if name.utf8.contains(0) { return .nul }
        if name.utf8.count > 255 { return .tooLong }
        return nil
    }

    /// Whether a link `depth` folders below the copy's root, pointing at `target`, stays
    /// inside the root when resolved from where it lies. Absolute targets never do, and `..`
    /// may only lead the target: after a name, that name may itself be a link (`a -> .`), so
    /// counting levels in the text would no longer say where `..` goes on disk. With `..` only
    /// climbing from the link's own folder, which is a real folder of the copy, and every link
    /// in the copy held to this rule, no chain of links leads out.
    public static func linkStaysInside(target: String, depth: Int) -> Bool {
        guard !target.isEmpty, !target.hasPrefix("/"), !target.utf8.contains(0) else { return false }
        var level = depth
        var named = false
        for part in target.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..":
                level -= 1
                if named || level < 0 { return false }
            default:
                named = true
                level += 1
            }
        }
        return true
    }

    /// The SFTP extension a client uses to put its own refusals on the ticket (the broker records it).
    public static let refusalExtension = "refused@tandem"
}
