/// Where a byte stream can be cut without splitting a UTF-8 character.
public enum UTF8Boundary {
    /// The length of the longest prefix of `bytes` that does not end inside a character.
    /// The rest (at most 3 bytes) is the start of a character still arriving.
    public static func completePrefix<C: BidirectionalCollection>(_ bytes: C) -> Int where C.Element == UInt8, C.Index == Int {
        var i = bytes.endIndex
        var seen = 0
        while i > bytes.startIndex && seen < 4 {
            i -= 1
            seen += 1
            let b = bytes[i]
            if b & 0xC0 == 0x80 { continue }  // continuation byte: look further back
            let needed = b >= 0xF8 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
            return seen < needed ? i - bytes.startIndex : bytes.count
        }
        return bytes.count
    }
}
