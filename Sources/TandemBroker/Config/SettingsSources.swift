import Configuration
import Foundation
import TandemCore

/// tandemd's settings from three sources through swift-configuration, the first that has a key
/// wins: flags (`--code-ttl 600`, as ArgumentParser read them), the environment
/// (`TANDEM_CODE_TTL=600`), then the config file (`code-ttl = 600`, see deploy/tandemd.conf).
///
/// Every setting has one name and is read in one place; a value that does not fit is refused
/// with its name, never silently replaced by the default.
public struct SettingsSources: Sendable {
    private let reader: ConfigReader
    /// The config file that was read, if any.
    public let file: String?

    /// Environment variables that never come from a flag or the config file, only from the
    /// environment (or, for the database password, a file named in the settings).
    static let secrets: Set<String> = ["DATABASE_PASSWORD", "RT_TOKEN", "REDMINE_KEY", "WEBHOOK_SECRET"]

    /// `flags` are the values ArgumentParser parsed, by setting name (`"code-ttl": "600"`; nil when
    /// not given): it already knows which word is whose value. `configFile` is `--config`; without
    /// it `defaultFile` is read when it exists.
    public init(flags: [String: String?], configFile: String?, environment: [String: String], defaultFile: String?) throws {
        let given = Dictionary(flags.compactMap { key, value in value.map { (Self.variableName(key), $0) } }
                                   .filter { !Self.secrets.contains($0.0) }, uniquingKeysWith: { first, _ in first })
        let env = EnvironmentVariablesProvider(environmentVariables: Self.tandemVariables(environment),
                                               secretsSpecifier: .specific(Self.secrets))
        // Not TANDEM_CONFIG: that names the technician CLI's file, and a shell may well export it.
        var values: [String: String] = [:]
        if let configFile {
            let path = (configFile as NSString).expandingTildeInPath
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw TandemError.invalidArgument("config file \(configFile) does not exist or cannot be read")
            }
            values = try KeyValueConfig.load(firstOf: [path]).values
            file = configFile
        } else if let defaultFile, FileManager.default.fileExists(atPath: defaultFile) {
            guard FileManager.default.isReadableFile(atPath: defaultFile) else {
                throw TandemError.invalidArgument("config file \(defaultFile) cannot be read")
            }
            values = try KeyValueConfig.load(firstOf: [defaultFile]).values
            file = defaultFile
        } else {
            file = nil
        }
        let fromFile = Dictionary(values.map { (Self.variableName($0.key), $0.value) }.filter { !Self.secrets.contains($0.0) },
                                  uniquingKeysWith: { first, _ in first })
        reader = ConfigReader(providers: [EnvironmentVariablesProvider(environmentVariables: given), env,
                                          EnvironmentVariablesProvider(environmentVariables: fromFile)])
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

    /// A number of seconds (or any quantity) from `range`.
    public func number(_ key: String, default fallback: Double, in range: ClosedRange<Double>) throws -> Double {
        guard string(key) != nil else { return fallback }
        guard let value = try? reader.requiredDouble(forKey: ConfigKey([key])), range.contains(value) else {
            throw TandemError.invalidArgument("\(key) must be a number from \(Self.show(range.lowerBound)) to \(Self.show(range.upperBound)) (\(Self.sources(key)))")
        }
        return value
    }

    /// A whole number from `range`.
    public func count(_ key: String, default fallback: Int, in range: ClosedRange<Int>) throws -> Int {
        guard string(key) != nil else { return fallback }
        guard let value = try? reader.requiredInt(forKey: ConfigKey([key])), range.contains(value) else {
            throw TandemError.invalidArgument("\(key) must be a whole number from \(range.lowerBound) to \(range.upperBound) (\(Self.sources(key)))")
        }
        return value
    }

    private static func show(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
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
