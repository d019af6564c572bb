import Foundation
import Logging
import TandemCore

/// `log-format = json`: one JSON object per line on standard error, for log collectors.
///
/// Keys: `time` (ISO 8601), `level`, `label`, `message`, then the metadata (`session`, `ticket`, …).
/// Every value is a JSON string, escaped, so foreign text in a message cannot forge a line or a field.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private let label: String

    public init(label: String) {
        self.label = label
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [String: String] = [:]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { _, new in new }) { fields[key] = "\(value)" }
        fields["time"] = Date().formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
        fields["level"] = event.level.rawValue
        fields["label"] = label
        fields["message"] = event.message.description
        guard var text = (try? JSONEncoder.logLine.encode(fields)).map({ String(decoding: $0, as: UTF8.self) }) else { return }
        text += "\n"
        // One write per line, so lines from several threads do not interleave.
        text.withUTF8 { _ = writeAll(2, UnsafeRawBufferPointer($0)) }
    }
}

extension JSONEncoder {
    static var logLine: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }
}
