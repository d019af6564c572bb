import Foundation
import Logging
import TandemStore

/// Where the broker keeps its state: the embedded SQLite file in its data directory, or a
/// PostgreSQL database. A password is never part of a flag: it comes from the URL in a
/// config file, `TANDEM_DATABASE_PASSWORD`, or `database-password-file`.
public enum DatabaseLocation: Sendable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(url: String, password: String?)

    /// `database` (a `postgres://` URL, or nil for `DIR/tandem.db`) and a password source.
    public static func resolve(dataDirectory dir: String, database: String?, passwordFile: String?,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws -> DatabaseLocation {
        try resolve(dataDirectory: dir, database: database, passwordFile: passwordFile, password: environment["TANDEM_DATABASE_PASSWORD"])
    }

    /// The same, with the password as the settings read it (`TANDEM_DATABASE_PASSWORD`); a password file wins.
    public static func resolve(dataDirectory dir: String, database: String?, passwordFile: String?,
                               password environmentPassword: String?) throws -> DatabaseLocation {
        guard let database, !database.isEmpty, database != "sqlite" else { return .sqlite(path: dir + "/tandem.db") }
        guard database.hasPrefix("postgres://") || database.hasPrefix("postgresql://") else {
            throw DatabaseLocationError.notAURL(database)
        }
        var password = environmentPassword
        if let passwordFile {
            guard let text = FileManager.default.contents(atPath: passwordFile).map({ String(decoding: $0, as: UTF8.self) }) else {
                throw DatabaseLocationError.unreadablePasswordFile(passwordFile)
            }
            password = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return .postgres(url: database, password: password)
    }

    /// Opens (creating or upgrading the schema).
    public func open(logger: Logger = Logger(label: "tandem.store")) async throws(StoreError) -> SQLStore {
        switch self {
        case .sqlite(let path): return try await SQLStore.sqlite(path: path, logger: logger)
        case .postgres(let url, let password): return try await SQLStore.postgres(url: url, password: password, logger: logger)
        }
    }

    /// Whether a URL carries a password (`postgres://user:PASSWORD@host`): refused on a command line,
    /// where `ps` and shell history would show it.
    public static func hasPassword(_ url: String) -> Bool {
        // One reading of a URL's user part: the one that hides the password everywhere it is shown.
        url.contains("://") && SQLStore.redacted(url) != url
    }

    public var isEmbedded: Bool { if case .sqlite = self { return true } else { return false } }

    /// Without the password.
    public var description: String {
        switch self {
        case .sqlite(let path): return path
        case .postgres(let url, _): return SQLStore.redacted(url)
        }
    }
}

/// A database setting that cannot be used, with what to write instead.
public enum DatabaseLocationError: Error, CustomStringConvertible {
    case notAURL(String)
    case unreadablePasswordFile(String)
    case passwordOnCommandLine

    public var description: String {
        switch self {
        case .notAURL:
            return "database takes postgres://USER@HOST:PORT/DATABASE (or leave it out for the embedded SQLite file in the data directory)"
        case .unreadablePasswordFile(let path):
            return "cannot read the database password file \(path); check its path and permissions"
        case .passwordOnCommandLine:
            return "the database URL on the command line carries a password, which ps and shell history would show; "
                + "put it in TANDEM_DATABASE_PASSWORD or a file given with --database-password-file"
        }
    }
}
