import Glibc
import TandemCore
import TandemText

/// A question from the broker in words for someone who is not technical: who asks, what
/// for, and the file's size where it has one. Every name in it came from someone else and is
/// escaped to one bounded line.
enum QuestionText {
    static func ask(_ q: ConsentQuestion, home: String) -> String {
        let who = TerminalText.field(q.who, limit: 32) + (q.role.map { " (\(TerminalText.field($0, limit: 16)))" } ?? "")
        switch q.kind {
        case .join:
            let what = q.mode == "pair" ? "join this session and type in its shell" : "watch this session"
            return "\(who) from your support team wants to \(what). Allow? [y/N] "
        case .file:
            let path = resolve(q.path ?? "", home: home)
            let shown = tail(path)
            let action: String
            switch q.operation {
            case "download": action = "download \(shown)\(size(path).map { " (\($0))" } ?? "")"
            case "upload": action = "upload \(shown)" + (size(path).map { " (replacing a file of \($0))" } ?? " (a new file)")
            case "remove": action = "remove \(shown)\(size(path).map { " (\($0))" } ?? "")"
            case "remove folder": action = "remove the folder \(shown)"
            case "rename": action = "rename \(shown) to \(tail(resolve(q.to ?? "", home: home)))"
            case "link": action = "make a link \(shown) to \(tail(q.to ?? ""))"
            case "change": action = "change the size or permissions of \(shown)"
            default: action = "\(TerminalText.field(q.operation ?? "use", limit: 20)) \(shown)"
            }
            return "\(who) wants to \(action). Allow? [y/N/a(ll for this session)] "
        }
    }

    /// The typed answer: only an explicit yes (or "all", for files) allows.
    static func answer(_ typed: String?, kind: ConsentQuestion.Kind) -> ConsentAnswer {
        guard let typed else { return .noAnswer }
        let word = typed.trimmingCharacters(in: .whitespaces).lowercased()
        if word == "y" || word == "yes" { return .yes }
        if kind == .file && (word == "a" || word == "all") { return .all }
        return .no
    }

    /// What the user is told their answer did.
    static func outcome(_ answer: ConsentAnswer, limit: Int) -> String {
        switch answer {
        case .yes: return "You allowed it."
        case .all: return "You allowed it, and every file operation for the rest of this session."
        case .no: return "You refused it."
        case .noAnswer: return "No answer within \(limit) seconds: refused."
        }
    }

    /// A path on one line, its end kept when it is long: the file's name decides the answer, and
    /// a padded start (`/tmp/./././…`) must not push it out of sight.
    static func tail(_ path: String) -> String {
        let escaped = TerminalText.escape(path)
        return escaped.count <= 200 ? escaped : "…" + String(escaped.suffix(199))
    }

    /// Paths the technician names relative to the home folder are shown whole.
    static func resolve(_ path: String, home: String) -> String {
        if path.hasPrefix("/") { return path }
        if path.isEmpty || path == "." { return home }
        return home + "/" + path
    }

    /// The size of a regular file at `path`, or nil (absent, a folder, a link).
    private static func size(_ path: String) -> String? {
        var st = stat()
        guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
        return ByteCount.format(UInt64(st.st_size), binary: false)
    }
}
