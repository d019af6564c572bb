import Foundation
import XCTest

/// Issue 9, acceptance 2: a hostile machine's names cannot make `get -r` or `ls` create or
/// change anything outside the destination, and each refusal is printed and on the ticket.
final class HostileFileNamesTests: XCTestCase {
    /// The agent lists `hostile-…` entries under their percent-decoded names (a test-only shim).
    private let hostileAgent = ["TANDEM_ALLOW_TEST_FLAGS": "1", "TANDEM_TEST_HOSTILE_NAMES": "1"]

    private func refusals(_ fx: BrokerFixture) throws -> [[String: String]] {
        let log = try fx.tandem(["audit", "log", "--ticket", "1", "--json"])
        return log.stdout.split(separator: "\n").compactMap { line -> [String: String]? in
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  obj["kind"] as? String == "file_name_refused" else { return nil }
            return obj["data"] as? [String: String]
        }
    }

    func testHostileNamesAndLinksStayOutOfTheTechniciansMachine() throws {
        let fx = try BrokerFixture(name: "hostile-names")
        defer { fx.stopAll() }
        let (id, _) = try fx.activeSession(scope: "files", agentEnvironment: hostileAgent)
        let fm = FileManager.default

        // The user's machine: hostile names, links out, links in, and special permission bits.
        let remote = fx.dir.appendingPathComponent("remote-tree").path
        try fm.createDirectory(atPath: remote + "/sub", withIntermediateDirectories: true)
        for (file, listedAs) in [("hostile-..%2Fx", "../x"), ("hostile-a%2Fb", "a/b"), ("hostile-..", ".."), ("hostile-.", "."),
                                 ("hostile-", ""), ("hostile-x%00y", "x\0y")] {
            XCTAssertTrue(fm.createFile(atPath: remote + "/" + file, contents: Data("listed as \(listedAs)".utf8)))
        }
        try "fine\n".write(toFile: remote + "/ok.txt", atomically: true, encoding: .utf8)
        try "deep\n".write(toFile: remote + "/sub/deep.txt", atomically: true, encoding: .utf8)
        try fm.createSymbolicLink(atPath: remote + "/etc-link", withDestinationPath: "/etc")
        try fm.createSymbolicLink(atPath: remote + "/up-link", withDestinationPath: "../outside-target")
        try fm.createSymbolicLink(atPath: remote + "/inner-link", withDestinationPath: "ok.txt")
        try fm.createSymbolicLink(atPath: remote + "/sub/climb-link", withDestinationPath: "../../x")
        try fm.createSymbolicLink(atPath: remote + "/sub/back-link", withDestinationPath: "../ok.txt")
        // Harmless alone; a second link climbing through it would leave the copy.
        try fm.createSymbolicLink(atPath: remote + "/dot-link", withDestinationPath: ".")
        try fm.createSymbolicLink(atPath: remote + "/chain-link", withDestinationPath: "dot-link/dot-link/../../../../../etc")
        try "#!/bin/sh\n".write(toFile: remote + "/setuid.sh", atomically: true, encoding: .utf8)
        XCTAssertEqual(chmod(remote + "/setuid.sh", 0o6755), 0)
        try fm.createDirectory(atPath: remote + "/sticky-dir", withIntermediateDirectories: true)
        XCTAssertEqual(chmod(remote + "/sticky-dir", 0o1777), 0)
        try fm.createDirectory(atPath: remote + "/pre-link", withIntermediateDirectories: true)
        try "planted\n".write(toFile: remote + "/pre-link/planted.txt", atomically: true, encoding: .utf8)
        try "overwrite\n".write(toFile: remote + "/file-link", atomically: true, encoding: .utf8)

        // The technician's side: links already in the destination, pointing outside it.
        let dest = fx.dir.appendingPathComponent("dest").path
        let outside = fx.dir.appendingPathComponent("outside").path
        try fm.createDirectory(atPath: dest + "/remote-tree", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try "precious\n".write(toFile: outside + "/victim.txt", atomically: true, encoding: .utf8)
        try fm.createSymbolicLink(atPath: dest + "/remote-tree/pre-link", withDestinationPath: outside)
        try fm.createSymbolicLink(atPath: dest + "/remote-tree/file-link", withDestinationPath: outside + "/victim.txt")

        let get = try fx.tandem(["get", "-r", id, remote, dest], timeout: 60)
        XCTAssertEqual(get.status, 1, "a skipped entry makes the exit status 1: \(get.stderr)")
        let skips = get.stderr.split(separator: "\n").filter { $0.hasPrefix("tandem: skipped") }
        XCTAssertEqual(skips.count, 12, get.stderr)
        XCTAssertTrue(get.stderr.contains("12 items skipped"), get.stderr)
        XCTAssertFalse(get.stderr.contains("\0"), "names are shown escaped")

        // Nothing outside the destination, nothing through a link.
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: outside), ["victim.txt"])
        XCTAssertEqual(try String(contentsOfFile: outside + "/victim.txt", encoding: .utf8), "precious\n")
        for path in [dest + "/x", fx.dir.appendingPathComponent("x").path, dest + "/remote-tree/a", fx.dir.appendingPathComponent("outside-target").path,
                     dest + "/remote-tree/etc-link", dest + "/remote-tree/up-link", dest + "/remote-tree/sub/climb-link",
                     dest + "/remote-tree/chain-link"] {
            XCTAssertFalse(fm.fileExists(atPath: path) || (try? fm.destinationOfSymbolicLink(atPath: path)) != nil, path)
        }
        XCTAssertEqual(try fm.destinationOfSymbolicLink(atPath: dest + "/remote-tree/pre-link"), outside, "the planted link is left alone")

        // What is fine arrives: files, links that stay inside, permissions without the special bits.
        let copy = dest + "/remote-tree"
        XCTAssertEqual(try String(contentsOfFile: copy + "/ok.txt", encoding: .utf8), "fine\n")
        XCTAssertEqual(try String(contentsOfFile: copy + "/sub/deep.txt", encoding: .utf8), "deep\n")
        XCTAssertEqual(try fm.destinationOfSymbolicLink(atPath: copy + "/inner-link"), "ok.txt")
        XCTAssertEqual(try fm.destinationOfSymbolicLink(atPath: copy + "/sub/back-link"), "../ok.txt")
        XCTAssertEqual(try fm.destinationOfSymbolicLink(atPath: copy + "/dot-link"), ".")
        let setuid = try XCTUnwrap(try fm.attributesOfItem(atPath: copy + "/setuid.sh")[.posixPermissions] as? Int)
        XCTAssertEqual(setuid & 0o7000, 0, "no set-uid or set-gid bit")
        XCTAssertEqual(setuid & 0o100, 0o100, "the execute bit comes across")
        let sticky = try XCTUnwrap(try fm.attributesOfItem(atPath: copy + "/sticky-dir")[.posixPermissions] as? Int)
        XCTAssertEqual(sticky & 0o7000, 0, "no sticky bit")
        for name in ["hostile-..%2Fx", "hostile-a%2Fb", "hostile-..", "hostile-.", "hostile-", "hostile-x%00y"] {
            XCTAssertFalse(fm.fileExists(atPath: copy + "/" + name), "the real name was never asked for: \(name)")
        }

        // ls skips the same names, visibly.
        let ls = try fx.tandem(["ls", id, remote])
        XCTAssertEqual(ls.status, 1)
        XCTAssertEqual(ls.stderr.split(separator: "\n").filter { $0.hasPrefix("tandem: skipped") }.count, 6, ls.stderr)
        XCTAssertTrue(ls.stdout.contains(" ok.txt"), ls.stdout)

        // Every refusal is on the ticket: the names as the broker saw them, the links as the client judged them.
        XCTAssertTrue(Harness.waitUntil(10) { ((try? self.refusals(fx)) ?? []).count >= 6 + 6 + 6 })
        let events = try refusals(fx)
        let byBroker = events.filter { $0["reported_by"] == "broker" }
        XCTAssertEqual(byBroker.map { $0["reason"] ?? "" }.sorted(),
                       ["contains_nul", "contains_nul", "contains_slash", "contains_slash", "contains_slash", "contains_slash",
                        "dot", "dot", "dot_dot", "dot_dot", "empty", "empty"], "one listing by get -r and one by ls")
        XCTAssertTrue(byBroker.contains { $0["name"] == "../x" && $0["path"] == remote })
        let byClient = events.filter { $0["reported_by"] == "client" }
        XCTAssertEqual(byClient.map { $0["reason"] ?? "" }.sorted(),
                       ["link_outside", "link_outside", "link_outside", "link_outside", "local_link", "local_link"])
        XCTAssertTrue(byClient.contains { $0["path"] == remote + "/etc-link" && $0["detail"] == "/etc" })
    }
}
