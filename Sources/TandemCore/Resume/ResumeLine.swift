/// The first line each way on a channel that takes up a relay again after a dropped connection.
///
/// The side that opens it says which stream and how much of the other side's bytes it has:
/// `TANDEM-RESUME/1 <channel> <received>`; the other answers `OK <received>` with its own count,
/// or `NO <reason>`. Each then sends again what the other has not had.
public enum ResumeLine: Equatable, Sendable {
    case request(channel: Int, received: UInt64)
    case accepted(received: UInt64)
    case refused(String)

    /// The subsystem only the broker opens to take a relay up again (it relays none by this name).
    public static let subsystem = "tandem-resume@tandem"

    /// A line is never longer than this, newline included.
    public static let maxBytes = 256

    public var text: String {
        switch self {
        case .request(let channel, let received): return "TANDEM-RESUME/1 \(channel) \(received)\n"
        case .accepted(let received): return "OK \(received)\n"
        case .refused(let why): return "NO \(String(why.prefix(200)).replacingOccurrences(of: "\n", with: " "))\n"
        }
    }

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case tooLong, malformed
        public var description: String {
            switch self {
            case .tooLong: return "a resume line longer than \(ResumeLine.maxBytes) bytes"
            case .malformed: return "not a resume line"
            }
        }
    }

    /// The line at the start of `bytes` and how many bytes it took; nil while it is unfinished.
    public static func parse(_ bytes: some Collection<UInt8>) throws(ParseError) -> (ResumeLine, Int)? {
        guard let newline = bytes.firstIndex(of: 10) else {
            if bytes.count >= maxBytes { throw .tooLong }
            return nil
        }
        let length = bytes.distance(from: bytes.startIndex, to: newline) + 1
        guard length <= maxBytes else { throw .tooLong }
        let text = String(decoding: bytes[bytes.startIndex..<newline], as: UTF8.self)
        let words = text.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        switch words.first {
        case "TANDEM-RESUME/1":
            guard words.count == 3, let channel = Int(words[1]), channel >= 0, let received = UInt64(words[2]) else { throw .malformed }
            return (.request(channel: channel, received: received), length)
        case "OK":
            guard words.count == 2, let received = UInt64(words[1]) else { throw .malformed }
            return (.accepted(received: received), length)
        case "NO":
            return (.refused(words.dropFirst().joined(separator: " ")), length)
        default:
            throw .malformed
        }
    }
}
