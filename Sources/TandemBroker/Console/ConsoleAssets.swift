import Crypto
import Foundation
import TandemAudit
import TandemCore

/// The files the console's pages load: its own script and style (built in), and
/// asciinema-player 3.12.1, read from `console-assets` at start and served only if its
/// SHA-256 is the one this broker was built for.
public struct ConsoleAssets: Sendable {
    /// The player's files as `scripts/setup.sh` fetches them, with the checksums it and the broker check.
    public static let player: [(name: String, sha256: String, type: String)] = [
        ("asciinema-player.js", "5684bcc1429b0fadeb58e98abeadc6d1162b6d601e56b4c26c5e6f975a965c1c", "text/javascript; charset=utf-8"),
        ("asciinema-player.css", "c9ab8b978c4547141eeb6131caefc5604df2ccd78e2f9076931d7691ba47f399", "text/css; charset=utf-8"),
    ]

    let files: [String: (data: Data, type: String)]
    /// Whether the player is there: without it the pages say how to get it and offer downloads.
    public var hasPlayer: Bool { files["asciinema-player.js"] != nil }

    /// Just the console's own files.
    public static let builtIn = ConsoleAssets(files: Self.own)

    init(files: [String: (data: Data, type: String)]) {
        self.files = files
    }

    /// The console's own files and the player from `directory`; a player file that is there but
    /// does not match its checksum stops the broker (the operator pointed at it on purpose).
    public static func load(from directory: String?) throws(TandemError) -> ConsoleAssets {
        guard let directory else { return .builtIn }
        var files = own
        for file in player {
            let path = directory + "/" + file.name
            guard let data = FileManager.default.contents(atPath: path) else {
                throw .invalidArgument("console-assets: \(path) is missing; scripts/setup.sh fetches asciinema-player 3.12.1 into .build-console")
            }
            guard SHA256.hash(data: data).hexString == file.sha256 else {
                throw .invalidArgument("console-assets: \(path) is not asciinema-player 3.12.1 (its SHA-256 differs); fetch it again with scripts/setup.sh")
            }
            files[file.name] = (data, file.type)
        }
        return ConsoleAssets(files: files)
    }

    private static let own: [String: (data: Data, type: String)] = [
        "console.js": (Data(ConsoleScript.text.utf8), "text/javascript; charset=utf-8"),
        "console.css": (Data(ConsoleStyle.text.utf8), "text/css; charset=utf-8"),
    ]
}
