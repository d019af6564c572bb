import Foundation
import TandemCore
import XCTest

@testable import TandemBroker

/// tandemd's one configuration layer: flags, then TANDEM_… variables, then the config file.
final class SettingsSourcesTests: XCTestCase {
    private func file(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tandemd-\(UUID().uuidString).conf").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testFlagsWinOverTheEnvironmentWhichWinsOverTheFile() throws {
        let conf = try file("code-ttl = 30\nguess-limit = 7\nlisten = 0.0.0.0:9000\nlog-format = json\ncapture-files = on\n")
        let sources = try SettingsSources(flags: ["code-ttl": "90", "guess-limit": nil, "data": "/srv/a,b c"], configFile: conf,
                                          environment: ["TANDEM_CODE_TTL": "60", "TANDEM_GUESS_LIMIT": "9", "HOME": "/root"],
                                          defaultFile: nil)
        XCTAssertEqual(sources.file, conf)
        XCTAssertEqual(try sources.number("code-ttl", default: 600, in: 1...86_400), 90, "the flag")
        XCTAssertEqual(try sources.count("guess-limit", default: 5, in: 1...100), 9, "the environment, as the flag was not given")
        XCTAssertEqual(try sources.address("listen", default: "127.0.0.1:8443")?.port, 9000, "the file")
        XCTAssertEqual(sources.string("data"), "/srv/a,b c", "a flag's value is taken whole, commas and spaces too")
        XCTAssertEqual(try sources.choice("log-format", ["text": 0, "json": 1], default: 0), 1)
        XCTAssertEqual(try sources.choice("capture-files", ["on": true, "off": false], default: false), true)
        XCTAssertEqual(try sources.number("consent-timeout", default: 300, in: 5...3600), 300, "the default")
        XCTAssertNil(try sources.address("metrics-listen", default: nil))
    }

    func testAValueThatDoesNotFitIsRefusedByItsNameNotReplacedByTheDefault() throws {
        let conf = try file("code-ttl = ten\nguess-limit = -3\nlisten = nowhere\nlog-format = xml\nhandshake-timeout = 1e16\n")
        let sources = try SettingsSources(flags: [:], configFile: conf, environment: ["TANDEM_SHUTDOWN_GRACE": "0"], defaultFile: nil)
        for (key, read, says) in [
            ("code-ttl", { _ = try sources.number("code-ttl", default: 600, in: 1...86_400) }, "code-ttl must be a number from 1 to 86400"),
            ("guess-limit", { _ = try sources.count("guess-limit", default: 5, in: 1...10_000) }, "guess-limit must be a whole number from 1"),
            ("listen", { _ = try sources.address("listen", default: nil) }, "listen takes host:port"),
            ("log-format", { _ = try sources.choice("log-format", ["text": 0, "json": 1], default: 0) }, "log-format takes json or text"),
            ("shutdown-grace", { _ = try sources.number("shutdown-grace", default: 10, in: 0.1...3600) }, "shutdown-grace must be a number from 0.1"),
            ("handshake-timeout", { _ = try sources.number("handshake-timeout", default: 20, in: 1...3600) }, "handshake-timeout must be a number from 1 to 3600"),
        ] as [(String, () throws -> Void, String)] {
            XCTAssertThrowsError(try read(), key) { XCTAssertTrue("\($0)".contains(says), "\(key): \($0)") }
        }
    }

    /// The database password comes from the environment (or a password file), never a flag or the config file.
    func testTheDatabasePasswordComesOnlyFromTheEnvironment() throws {
        let conf = try file("database = postgres://tandem@db:5432/tandem\ndatabase-password = from-the-file\n")
        let fromFile = try SettingsSources(flags: ["database-password": "from-a-flag"], configFile: conf, environment: [:], defaultFile: nil)
        XCTAssertEqual(fromFile.string("database"), "postgres://tandem@db:5432/tandem")
        XCTAssertNil(fromFile.secret("database-password"), "neither the flag nor the config file is read for it")
        let fromEnv = try SettingsSources(flags: [:], configFile: conf, environment: ["TANDEM_DATABASE_PASSWORD": "s3cret"], defaultFile: nil)
        XCTAssertEqual(fromEnv.secret("database-password"), "s3cret")
    }

    func testAConfigFileNamedButMissingOrUnreadableIsAnErrorTheDefaultOnlyWhenPresent() throws {
        XCTAssertThrowsError(try SettingsSources(flags: [:], configFile: "/nonexistent/tandemd.conf", environment: [:], defaultFile: nil)) {
            XCTAssertTrue("\($0)".contains("does not exist or cannot be read"), "\($0)")
        }
        let quiet = try SettingsSources(flags: [:], configFile: nil, environment: ["TANDEM_CONFIG": "/etc/tandem/tandem.conf"],
                                        defaultFile: "/nonexistent/default.conf")
        XCTAssertNil(quiet.file, "no default file, and TANDEM_CONFIG is the CLI's")
        let present = try file("data = /srv/tandem\n")
        XCTAssertEqual(try SettingsSources(flags: [:], configFile: nil, environment: [:], defaultFile: present).string("data"), "/srv/tandem")
    }
}
