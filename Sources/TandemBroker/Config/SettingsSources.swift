import Configuration
import Foundation
import TandemCore

/// tandemd's settings from three sources through swift-configuration, the first that has a key
/// wins: flags (`--code-ttl 600`), the environment (`TANDEM_CODE_TTL=600`), then the config file
/// (`code-ttl = 600`, see deploy/tandemd.conf).
///
/// Every setting has one name and is read in one place; a value that does not fit is refused
/// with its name, never silently replaced by the default.
public struct SettingsSources: Sendable {
    private let reader: ConfigReader
    /// The config file that was read, if any.
    public let file: String?

    /// Environment variables that never come from a flag or the config file, only from the
    /// environment (or, for the database password, a file named in the settings).
    static let secrets: Set<String> = ["DATABASE_PASSWORD"]

    public init(arguments: [String], environment: [String: String], defaultFile: String?) throws {
        let flags = CommandLineArgumentsProvider(arguments: arguments)
        let env = EnvironmentVariablesProvider(environmentVariables: Self.tandemVariables(environment),
                                               secretsSpecifier: .specific(Self.secrets))
        // Which file: --config, else the default when it exists. Not TANDEM_CONFIG: that names the
        // technician CLI's file, and a shell may well export it.
        let chosen = ConfigReader(provider: flags).string(forKey: "config")
        let paths = chosen.map { [$0] } ?? defaultFile.map { [$0] } ?? []
        let config = try KeyValueConfig.load(firstOf: paths)
        if let chosen, config.values.isEmpty, !FileManager.default.fileExists(atPath: (chosen as NSString).expandingTildeInPath) {
            throw TandemError.invalidArgument("config file \(chosen) does not exist")
        }
        file = config.values.isEmpty ? nil : paths.first
        let fromFile = Dictionary(config.values.map { (Self.variableName($0.key), $0.value) }.filter { !Self.secrets.contains($0.0) },
                                  uniquingKeysWith: { first, _ in first })
        reader = ConfigReader(providers: [flags, env, EnvironmentVariablesProvider(environmentVariables: fromFile)])
    }

    /// `TANDEM_CODE_TTL` → `CODE_TTL`: the environment provider's name for the key `code-ttl`.
    static func tandemVariables(_ environment: [String: String]) -> [String: String] {
        Dictionary(environment.compactMap { $0.key.hasPrefix("TANDEM_") ? (String($0.key.dropFirst(7)), $0.value) : nil },
                   uniquingKeysWith: { first, _ in first })
    }

    /// `code-ttl` → `CODE_TTL`, as swift-configuration names a key for environment-style sources.
    static func variableName(_ key: String) -> String {
        key.uppercased().map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
    }

    public func string(_ key: String) -> String? {
        reader.string(forKey: ConfigKey([key]))
    }

    public func string(_ key: String, default fallback: String) -> String {
        string(key) ?? fallback
    }

    /// A secret that only the environment may give (`TANDEM_DATABASE_PASSWORD`).
    public func secret(_ key: String) -> String? {
        guard Self.secrets.contains(Self.variableName(key)) else { return nil }
        return reader.string(forKey: ConfigKey([key]), isSecret: true)
    }

    /// A number above zero.
    public func positive(_ key: String, default fallback: Double) throws -> Double {
        guard string(key) != nil else { return fallback }
        guard let value = try? reader.requiredDouble(forKey: ConfigKey([key])), value > 0, value.isFinite else {
            throw TandemError.invalidArgument("\(key) must be a number above 0 (\(Self.sources(key)))")
        }
        return value
    }

    /// A whole number above zero.
    public func count(_ key: String, default fallback: Int) throws -> Int {
        guard string(key) != nil else { return fallback }
        guard let value = try? reader.requiredInt(forKey: ConfigKey([key])), value > 0 else {
            throw TandemError.invalidArgument("\(key) must be a whole number above 0 (\(Self.sources(key)))")
        }
        return value
    }

    /// One of a few words.
    public func choice<T>(_ key: String, _ choices: [String: T], default fallback: T) throws -> T {
        guard let text = string(key) else { return fallback }
        guard let value = choices[text] else {
            throw TandemError.invalidArgument("\(key) takes \(choices.keys.sorted().joined(separator: " or ")) (\(Self.sources(key)))")
        }
        return value
    }

    /// `host:port`, port 0 to 65535.
    public func address(_ key: String, default fallback: String?) throws -> (host: String, port: Int)? {
        guard let text = string(key) ?? fallback else { return nil }
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port),
              colon > text.startIndex else {
            throw TandemError.invalidArgument("\(key) takes host:port, e.g. 127.0.0.1:8443 (\(Self.sources(key)))")
        }
        return (String(text[..<colon]), port)
    }

    /// Where a key may have come from, for an error message.
    static func sources(_ key: String) -> String {
        "from --\(key), TANDEM_\(variableName(key)) or '\(key) =' in the config file"
    }
}
