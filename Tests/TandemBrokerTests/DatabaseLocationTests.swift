import Foundation
import TandemBroker
import XCTest

/// Where the broker's database is, and where its password may come from (never a flag).
final class DatabaseLocationTests: XCTestCase {
    func testTheDefaultIsTheSQLiteFileInTheDataDirectory() throws {
        let location = try DatabaseLocation.resolve(dataDirectory: "/var/lib/tandem", database: nil, passwordFile: nil, environment: [:])
        XCTAssertEqual(location.description, "/var/lib/tandem/tandem.db")
        XCTAssertTrue(location.isEmbedded)
    }

    func testThePasswordComesFromAFileOrTheEnvironmentAndIsNeverShown() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("pw-\(UUID().uuidString)")
        try "from-the-file\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let url = "postgres://tandem@db.example.com:5432/tandem"
        let fromFile = try DatabaseLocation.resolve(dataDirectory: "/d", database: url, passwordFile: file.path,
                                                    environment: ["TANDEM_DATABASE_PASSWORD": "from-the-env"])
        guard case .postgres(_, let password) = fromFile else { return XCTFail("\(fromFile)") }
        XCTAssertEqual(password, "from-the-file", "the file wins over the environment")
        let fromEnv = try DatabaseLocation.resolve(dataDirectory: "/d", database: url, passwordFile: nil,
                                                   environment: ["TANDEM_DATABASE_PASSWORD": "from-the-env"])
        guard case .postgres(_, let envPassword) = fromEnv else { return XCTFail("\(fromEnv)") }
        XCTAssertEqual(envPassword, "from-the-env")
        XCTAssertFalse(fromEnv.description.contains("from-the-env"))
        let inURL = try DatabaseLocation.resolve(dataDirectory: "/d", database: "postgres://tandem:hunter2@db:5432/t",
                                                 passwordFile: nil, environment: [:])
        XCTAssertEqual(inURL.description, "postgres://tandem@db:5432/t")
    }

    func testAPasswordInAURLIsSeen() {
        XCTAssertTrue(DatabaseLocation.hasPassword("postgres://tandem:pw@db:5432/t"))
        XCTAssertTrue(DatabaseLocation.hasPassword("postgres://tandem:p@ss/w#rd@db:5432/t"), "a password holding @ and /")
        XCTAssertFalse(DatabaseLocation.hasPassword("postgres://tandem@db:5432/t"))
        XCTAssertFalse(DatabaseLocation.hasPassword("postgres://db:5432/t"))
    }

    func testWhatIsNotADatabaseIsRefusedWithTheFix() {
        XCTAssertThrowsError(try DatabaseLocation.resolve(dataDirectory: "/d", database: "mysql://x", passwordFile: nil, environment: [:])) {
            XCTAssertTrue("\($0)".contains("postgres://USER@HOST:PORT/DATABASE"), "\($0)")
        }
        XCTAssertThrowsError(try DatabaseLocation.resolve(dataDirectory: "/d", database: "postgres://x@h/db",
                                                          passwordFile: "/nonexistent/pw", environment: [:])) {
            XCTAssertTrue("\($0)".contains("cannot read the database password file /nonexistent/pw"), "\($0)")
        }
    }
}
