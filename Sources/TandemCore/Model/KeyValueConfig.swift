import Foundation

/// A small `key = value` config file (# comments), shared by the agent and the CLI.
public struct KeyValueConfig: Sendable, Equatable {
    public private(set) var values: [String: String] = [:]

    public init(values: [String: String] = [:]) { self.values = values }

    public init(parsing text: String, source: String) throws(TandemError) {
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let eq = line.firstIndex(of: "=") else {
                throw .invalidArgument("\(source) line \(number + 1): expected 'key = value'")
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            values[key] = value
        }
    }

    /// The first of `paths` that exists, parsed; an empty config when none does.
    public static func load(firstOf paths: [String]) throws(TandemError) -> KeyValueConfig {
        for path in paths {
            let expanded = (path as NSString).expandingTildeInPath
            guard let data = FileManager.default.contents(atPath: expanded) else { continue }
            return try KeyValueConfig(parsing: String(decoding: data, as: UTF8.self), source: expanded)
        }
        return KeyValueConfig()
    }

    public subscript(key: String) -> String? { values[key] }
}
