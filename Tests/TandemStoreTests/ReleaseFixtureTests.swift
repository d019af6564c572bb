import Foundation
import TandemAudit
import TandemStore
import XCTest

/// A database written by the landed release (Tests/Fixtures/release-2026-11/make.sh) must
/// still verify and read back byte for byte with today's code and event catalogue.
final class ReleaseFixtureTests: XCTestCase {
    private static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures/release-2026-11").standardized

    /// A copy, so opening it (migrations, WAL files) never touches the committed fixture.
    private func openCopy() async throws -> (SQLStore, String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-fixture-\(UUID().uuidString)").path
        try FileManager.default.copyItem(atPath: Self.fixture.appendingPathComponent("broker").path, toPath: dir)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        let store = try await SQLStore.sqlite(path: dir + "/tandem.db")
        addTeardownBlock { await store.close() }
        return (store, dir)
    }

    func testTheReleaseDatabaseVerifiesAndEveryEventReadsBackUnchanged() async throws {
        let (store, dir) = try await openCopy()
        let events = try await store.allEvents()
        XCTAssertEqual(events.count, 37, "the fixture holds 37 events")
        let keyText = try String(contentsOf: Self.fixture.appendingPathComponent("audit-public-key.txt"), encoding: .utf8)
        let key = try XCTUnwrap(AuditKeyText.parse(keyText.trimmingCharacters(in: .whitespacesAndNewlines)))
        let report = ChainVerifier(publicKey: key) { sha in FileManager.default.contents(atPath: "\(dir)/recordings/\(sha).cast") }
            .verify(events: events, checkpoints: try await store.checkpoints())
        XCTAssertTrue(report.ok, report.summary)
        XCTAssertEqual(report.recordingsChecked, 2)
        XCTAssertEqual(report.checkpointsChecked, 5)

        var kinds = Set<EventKind>()
        for event in events {
            // The hash was computed by the release: today's canonical form must give the same bytes.
            XCTAssertEqual(event.computeHash(), event.hash, "event \(event.id) (\(event.kind))")
            do {
                let payload = try EventKind.decode(kind: event.kind, data: event.data)
                XCTAssertEqual(payload.fields, event.data)
                kinds.insert(payload.kind)
            } catch {
                XCTFail("event \(event.id): \(error)")
            }
        }
        XCTAssertEqual(kinds.count, 22, "kinds in the fixture: \(kinds.map(\.rawValue).sorted())")
    }

    func testAnEditedFixtureEventFailsVerification() async throws {
        let (store, dir) = try await openCopy()
        var events = try await store.allEvents()
        let i = try XCTUnwrap(events.firstIndex { $0.kind == "exec" })
        events[i].data["command"] = "uname -a"
        let keyText = try String(contentsOf: Self.fixture.appendingPathComponent("audit-public-key.txt"), encoding: .utf8)
        let key = try XCTUnwrap(AuditKeyText.parse(keyText.trimmingCharacters(in: .whitespacesAndNewlines)))
        let report = ChainVerifier(publicKey: key) { sha in FileManager.default.contents(atPath: "\(dir)/recordings/\(sha).cast") }
            .verify(events: events, checkpoints: try await store.checkpoints())
        XCTAssertFalse(report.ok)
    }

    func testTheCatalogueRefusesWhatItCannotWriteBackTheSame() {
        XCTAssertThrowsError(try EventKind.decode(kind: "no_such_kind", data: [:]))
        XCTAssertThrowsError(try EventKind.decode(kind: "exec", data: [:]), "a missing field")
        XCTAssertThrowsError(try EventKind.decode(kind: "exec", data: ["command": "ls", "extra": "x"]), "an unknown field")
        XCTAssertThrowsError(try EventKind.decode(kind: "session_requested", data: ["scopes": "shell", "time_limit": "0060"]),
                             "an integer not in its canonical form")
        XCTAssertThrowsError(try EventKind.decode(kind: "join_refused", data: ["reason": "made_up"]), "a reason outside the enum")
        XCTAssertEqual(try EventKind.decode(kind: "ended", data: ["reason": "broker restarted"]).fields, ["reason": "broker restarted"])
        XCTAssertEqual(ChannelClosed(channel: "exec", bytesToAgent: 1, bytesFromAgent: 2, exitStatus: 3, recordingSha256: "ab").fields,
                       ["channel": "exec", "bytes_to_agent": "1", "bytes_from_agent": "2", "exit_status": "3", "recording_sha256": "ab"])
        for kind in EventKind.allCases {
            XCTAssertTrue(kind.payloadType.kind == kind, "\(kind) names a payload of another kind")
        }
    }
}
