/// Whether an exec from a stock client is `rsync` asking for its server side, and nothing more.
///
/// `rsync -a logs/ s-…:logs/` makes ssh run `rsync --server -logDtpre.iLsfxCIvu . logs/` on the
/// user's machine, through their shell. Such a line moves files, so it needs the `files` scope;
/// it is accepted as one only when every word is an rsync option on the list below or a plain
/// path, so nothing in it can become a second command (`;`, `$( )`, quotes) or make rsync run
/// one (`--daemon --config`, `--rsh`). Any other line is an ordinary exec (the `shell` scope).
enum RsyncServerLine {
    static func isTransfer(_ command: String) -> Bool {
        let words = command.split(separator: " ", omittingEmptySubsequences: false)
        guard words.count >= 4, words[0] == "rsync", words[1] == "--server" else { return false }
        var paths = 0
        var sawDot = false
        for word in words.dropFirst(2) {
            if sawDot {
                guard isPlainPath(word) else { return false }
                paths += 1
            } else if word == "." {
                sawDot = true
            } else if !isAllowedOption(word) {
                return false
            }
        }
        return sawDot && paths > 0
    }

    /// Long options an rsync client sends to its server for ordinary transfers.
    static let longOptions: Set<Substring> = [
        "sender", "delete", "delete-before", "delete-during", "delete-delay", "delete-after", "delete-excluded",
        "partial", "inplace", "append", "append-verify", "numeric-ids", "safe-links", "munge-links",
        "copy-unsafe-links", "ignore-errors", "force", "size-only", "existing", "ignore-existing",
        "remove-source-files", "list-only", "omit-dir-times", "omit-link-times", "preallocate", "mkpath",
        "fake-super", "checksum-choice", "compress-choice", "compress-level", "modify-window", "timeout",
        "max-delete", "max-size", "min-size", "bwlimit", "block-size", "info", "debug", "stats",
    ]

    private static func isAllowedOption(_ word: Substring) -> Bool {
        if word.hasPrefix("--") {
            let body = word.dropFirst(2)
            let name = body.prefix { $0 != "=" }
            let value = body.dropFirst(name.count + 1)
            guard longOptions.contains(name) || (name.hasPrefix("no-") && name.count > 3 && name.allSatisfy(isOptionName)) else { return false }
            return value.unicodeScalars.allSatisfy { isSafe($0) && $0 != "/" }
        }
        // Short option clusters, as the client packs them: -logDtpre.iLsfxCIvu
        return word.count >= 2 && word.hasPrefix("-")
            && word.dropFirst().unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "." }
    }

    private static func isOptionName(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c == "-") }

    private static func isPlainPath(_ word: Substring) -> Bool {
        !word.isEmpty && !word.hasPrefix("-") && word.unicodeScalars.allSatisfy(isSafe)
    }

    /// Letters, digits and the punctuation of ordinary file names; none a shell acts on.
    private static func isSafe(_ c: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || "._/+,:=@%-".unicodeScalars.contains(c)
    }
}

/// The stock-client readers the broker has beyond `TandemCore`'s, reachable from the fuzz targets.
public enum StockClientProbe {
    public static func parse(_ text: String) { _ = RsyncServerLine.isTransfer(text) }
}
