import Foundation
import TandemAPI
import TandemAudit

/// The files an export bundle carries for people: `index.html` (timeline, replays, verification
/// in the browser, from a file with no network) with the scripts and styles it loads.
public struct ConsoleExport: Sendable {
    let assets: ConsoleAssets
    /// Recordings larger than this are left out of the page (they stay in `recordings/`): a page
    /// must open in a browser, and an export is held in memory while it is made.
    static let embedLimit = 16 << 20

    public init(assets: ConsoleAssets) {
        self.assets = assets
    }

    /// `recordings` holds the bundle's recordings by SHA-256; a recording named on the chain but
    /// not among them was withheld from this reader.
    public func files(ticket: Int, title: String, events: [AuditEvent], checkpoints: [Checkpoint], recordings: [String: Data],
                      publicKeyText: String, exportedBy: String, now: Date = Date()) throws -> [TarArchive.Entry] {
        var views: [ExportPageView.Recording] = []
        // The newest exec of each session names the recording its channel leaves.
        var commands: [String: String] = [:]
        var seen = Set<String>()
        for e in events {
            if e.kind == EventKind.exec.rawValue, let session = e.session { commands[session] = e.data["command"] }
            guard let sha = e.recordingMade, seen.insert(sha).inserted else { continue }
            let data = recordings[sha]
            let base = RecordingView(e, session: .init(rawValue: e.session ?? "-"), ticket: ticket, command: e.session.flatMap { commands[$0] })
            // Embedded as base64, so the page hashes the file's exact bytes (a recording cut short
            // mid-character is still the file the chain names); past the cap it stays a file only.
            let embedded = data.flatMap { $0.count <= Self.embedLimit ? $0.base64EncodedString() : nil }
            views.append(.init(title: base.title, sha256: base.sha256, url: "#cast-" + base.sha256, session: ConsoleText.field(e.session ?? "-", limit: 64),
                               withheld: data == nil, tooLarge: data != nil && embedded == nil, cast: embedded ?? ""))
        }
        let record = BrowserRecord(ticket: ticket, events: events.map(\.exportLine), checkpoints: checkpoints,
                                   recordings: views.map { .init(sha256: $0.sha256, url: $0.withheld || $0.tooLarge ? nil : $0.url) })
        let seconds = now.timeIntervalSince1970
        let page = ExportPageView(ticket: ticket, title: ConsoleText.field(title), exported: ConsoleText.time(seconds), exportedISO: ConsoleText.iso(seconds),
                                  exportedBy: ConsoleText.field(exportedBy, limit: 64), auditKey: ConsoleText.field(publicKeyText),
                                  eventCount: events.count, checkpointCount: checkpoints.count, player: assets.hasPlayer,
                                  recordings: views, events: events.map(EventRow.init),
                                  record: WireJSON.encode(record).map { String(decoding: $0, as: UTF8.self) } ?? "{}")
        guard let html = try ConsolePages().html(page, "export") else { return [] }
        var entries = [TarArchive.Entry(name: "index.html", data: Data(html.utf8))]
        for name in assets.files.keys.sorted() { entries.append(TarArchive.Entry(name: name, data: assets.files[name]?.data ?? Data())) }
        return entries
    }
}

extension ConsoleExport {
    /// What README.txt says of the page, with the text of the verifier it runs.
    public static var readme: String {
        """

        index.html         this ticket's timeline and replays in a browser: open it from this folder;
                           it needs no server and no network. Its "Verify in this browser" checks
                           the events, checkpoints and recordings in this bundle against the audit
                           key you paste, with the browser's own SHA-256 and Ed25519 (WebCrypto).
        console.js, console.css, asciinema-player.*   what index.html loads

        The verifier index.html runs (from console.js), for you to read:

        \(ConsoleScript.verifier)

        """
    }
}

struct ExportPageView {
    var ticket: Int
    var title: String
    var exported: String
    var exportedISO: String
    var exportedBy: String
    var auditKey: String
    var eventCount: Int
    var checkpointCount: Int
    var player: Bool
    var recordings: [Recording]
    var events: [EventRow]
    var record: String

    struct Recording {
        var title: String
        var sha256: String
        /// Where the page finds it: embedded, `#cast-…`.
        var url: String
        var session: String
        var withheld: Bool
        /// Over `embedLimit`: in the bundle, not in the page.
        var tooLarge: Bool
        /// The file, base64.
        var cast: String
    }
}
