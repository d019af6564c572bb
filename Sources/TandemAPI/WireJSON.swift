import Foundation

/// How every answer and request is written as JSON: sorted keys, slashes as they are.
public enum WireJSON {
    /// The encoded value; nil only for a value JSON cannot hold (a non-finite number).
    public static func encode(_ value: some Encodable) -> Data? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try? encoder.encode(value)
    }
}

extension ControlRequest {
    /// Why an `exec` command was refused for its length: the CLI, a stock client's line and the
    /// JSON reader all say it the same way.
    public static func commandTooLong(_ bytes: Int) -> String {
        "the command is \(bytes) bytes; the broker accepts at most \(maxCommandBytes). "
            + "Copy a longer script over with 'tandem put' and run it with 'tandem exec'"
    }
}
