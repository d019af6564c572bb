/// Whether an exec is `rsync` asking for its server side, and nothing more.
///
/// `rsync -a logs/ s-…:logs/` makes ssh run `rsync --server -logDtpre.iLsfxCIvu . logs/` on the
/// user's machine, through their shell. Such a line moves files, so the `files` scope allows it
/// (the broker and the agent both check). It counts as one only when nothing in it can become a
/// second command (`;`, `$( )`, quotes) or make rsync run or write one: every short option is a
/// letter that takes no argument (no `-s`, which reads further options from stdin, no `-T`,
/// `-B`, `-M`, `-f`, `-@`), the compat string after `e` ends its word, and every long option is
/// on the list below. Any other line is an ordinary command (the `shell` scope).
public enum RsyncServerLine {
    public static func isTransfer(_ command: String) -> Bool {
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

    /// Short options that take no argument (rsync 3.2): archive, recursion, links, times,
    /// permissions, owners, devices, checksums, compression, verbosity and the like.
    static let flagLetters = Set("vqcarRbulLkKHpEAXogDtOJUNSnWxdzCFyihPmI".unicodeScalars)

    /// Long options an rsync client sends to its server for ordinary transfers, without a value…
    static let longFlags: Set<Substring> = [
        "sender", "delete", "delete-before", "delete-during", "delete-delay", "delete-after", "delete-excluded",
        "partial", "inplace", "append", "append-verify", "numeric-ids", "safe-links", "munge-links",
        "copy-unsafe-links", "ignore-errors", "force", "size-only", "existing", "ignore-existing",
        "remove-source-files", "list-only", "omit-dir-times", "omit-link-times", "preallocate", "mkpath",
        "fake-super", "stats",
    ]

    /// …and with one, always joined by `=` (a separate word would shift what counts as the paths).
    static let longValues: Set<Substring> = [
        "checksum-choice", "compress-choice", "compress-level", "modify-window", "timeout", "max-delete",
        "max-size", "min-size", "bwlimit", "block-size", "info", "debug", "log-format",
    ]

    private static func isAllowedOption(_ word: Substring) -> Bool {
        if word.hasPrefix("--") {
            let body = word.dropFirst(2)
            let name = body.prefix { $0 != "=" }
            guard name.count < body.count else { return longFlags.contains(name) || isNegation(name) }
            let value = body.dropFirst(name.count + 1)
            return longValues.contains(name) && value.unicodeScalars.allSatisfy { isSafe($0) && $0 != "/" }
        }
        guard word.count >= 2, word.hasPrefix("-") else { return false }
        var rest = word.unicodeScalars.dropFirst()
        while let letter = rest.first {
            rest = rest.dropFirst()
            if letter == "e" {
                // In server mode -e carries the client's protocol flags (".iLsfxCIvu") to the end of the word.
                return !rest.isEmpty && rest.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || $0 == "." }
            }
            guard flagLetters.contains(letter) else { return false }
        }
        return true
    }

    /// `--no-times` and the like only turn something off; `--no-` on its own, or with anything
    /// but letters and dashes, is not one.
    private static func isNegation(_ name: Substring) -> Bool {
        name.hasPrefix("no-") && name.count > 3 && name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || $0 == "-" }
    }

    private static func isPlainPath(_ word: Substring) -> Bool {
        !word.isEmpty && !word.hasPrefix("-") && word.unicodeScalars.allSatisfy(isSafe)
    }

    /// Letters, digits and the punctuation of ordinary file names; none a shell acts on.
    private static func isSafe(_ c: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || "._/+,:=@%-".unicodeScalars.contains(c)
    }
}
