import Foundation

/// An asciicast v2 recording, parsed for replay.
public struct Asciicast: Sendable {
    public struct Frame: Sendable, Equatable {
        public var time: Double
        public var kind: String
        public var data: String
    }

    public var width: Int
    public var height: Int
    public var frames: [Frame]

    public enum ParseError: Error, CustomStringConvertible {
        case notAsciicast
        public var description: String { "not an asciicast v2 recording" }
    }

    public static func parse(_ data: Data) throws -> Asciicast {
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        guard let first = lines.first,
              let header = try? JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any],
              header["version"] as? Int == 2 else { throw ParseError.notAsciicast }
        var frames: [Frame] = []
        for line in lines.dropFirst() {
            guard let array = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [Any], array.count == 3,
                  let time = (array[0] as? NSNumber)?.doubleValue, let kind = array[1] as? String, let text = array[2] as? String
            else { continue }
            frames.append(Frame(time: time, kind: kind, data: text))
        }
        return Asciicast(width: header["width"] as? Int ?? 80, height: header["height"] as? Int ?? 24, frames: frames)
    }

    /// Parses `90`, `1:30` or `00:01:30` into seconds.
    public static func parseOffset(_ text: String) -> Double? {
        let parts = text.split(separator: ":").map { Double($0) }
        guard !parts.isEmpty, parts.count <= 3, parts.allSatisfy({ $0 != nil && $0! >= 0 }) else { return nil }
        return parts.reduce(0) { $0 * 60 + $1! }
    }
}
