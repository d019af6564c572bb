import TandemCore

/// A command a technician sends as an SSH exec request to the broker.
enum ControlCommand: Equatable {
    case ticketNew(title: String, requester: String)
    case ticketList
    case ticketShow(Int)
    case ticketAssign(Int, user: String)
    case sessionNew(ticket: Int, scopes: [Scope], timeLimit: Int?)
    case sessionEnd(SessionID)
    case shell(SessionID)
    case exec(SessionID, command: String)
    case sftp(SessionID)
    case audit(Audit)
    case help

    /// What auditors ask of the broker.
    enum Audit: Equatable {
        case logTicket(Int)
        case logSession(SessionID)
        case verify(ticket: Int)
        case export(ticket: Int)
        case recordings(SessionID)
        case recording(SessionID, sha256: String)
    }

    static let usage = """
        tandem broker commands:
          ticket new TITLE --requester NAME     create a ticket
          ticket list | ticket show N           read tickets
          ticket assign N USER                  let another technician work on it
          session new --ticket N --scope shell[,files] [--time-limit SECONDS]
          session end SESSION
          shell SESSION                         interactive shell (needs a terminal)
          exec SESSION -- COMMAND...            run one command
          sftp SESSION                          file transfer (SFTP) with the user's machine
          audit log --ticket N | --session S    the timeline as JSON lines
          audit verify --ticket N               check the chain, signatures, recordings
          audit export --ticket N               a tar bundle on stdout
          audit recordings SESSION | audit recording SESSION SHA256
        Use the 'tandem' CLI rather than typing these by hand.
        """

    /// The longest command line accepted; an exec command is kept whole on the ticket, never cut.
    static let maxLineBytes = 16 * 1024

    static func parse(_ line: String) throws(TandemError) -> ControlCommand {
        guard line.utf8.count <= maxLineBytes else {
            throw .invalidArgument("the command is \(line.utf8.count) bytes; the broker accepts at most \(maxLineBytes). "
                                   + "Copy a longer script over with 'tandem put' and run it with 'tandem exec'")
        }
        // The remote command after `--` is passed to the agent's shell verbatim.
        if line.hasPrefix("exec ") {
            let rest = line.dropFirst(5)
            guard let sep = rest.range(of: " -- ") else { throw .invalidArgument("usage: exec SESSION -- COMMAND") }
            let id = try SessionID.parse(String(rest[..<sep.lowerBound]).trimmingCharacters(in: .whitespaces))
            let command = String(rest[sep.upperBound...])
            guard !command.trimmingCharacters(in: .whitespaces).isEmpty else { throw .invalidArgument("no command given after --") }
            return .exec(id, command: command)
        }
        let words = try tokenize(line)
        switch words.first {
        case "ticket":
            switch words.dropFirst().first {
            case "new":
                var rest = Array(words.dropFirst(2))
                let requester = try takeOption("--requester", from: &rest) ?? "unknown"
                guard rest.count == 1 else { throw .invalidArgument("usage: ticket new TITLE --requester NAME") }
                return .ticketNew(title: rest[0], requester: requester)
            case "list": return .ticketList
            case "show":
                guard words.count == 3, let n = Int(words[2]) else { throw .invalidArgument("usage: ticket show N") }
                return .ticketShow(n)
            case "assign":
                guard words.count == 4, let n = Int(words[2]), !words[3].isEmpty, words[3].utf8.count <= 64 else {
                    throw .invalidArgument("usage: ticket assign N USER")
                }
                return .ticketAssign(n, user: words[3])
            default: throw .invalidArgument("usage: ticket new|list|show|assign")
            }
        case "session":
            switch words.dropFirst().first {
            case "new":
                var rest = Array(words.dropFirst(2))
                guard let t = try takeOption("--ticket", from: &rest), let ticket = Int(t) else {
                    throw .invalidArgument("usage: session new --ticket N --scope shell")
                }
                let scopes = try Scope.parseList(try takeOption("--scope", from: &rest) ?? "shell")
                let limit = try takeOption("--time-limit", from: &rest).map { (s: String) throws(TandemError) -> Int in
                    guard let v = Int(s), v > 0, v <= 86_400 else { throw .invalidArgument("--time-limit takes seconds, 1 to 86400") }
                    return v
                }
                guard rest.isEmpty else { throw .invalidArgument("unexpected '\(rest[0])'") }
                return .sessionNew(ticket: ticket, scopes: scopes, timeLimit: limit)
            case "end":
                guard words.count == 3 else { throw .invalidArgument("usage: session end SESSION") }
                return .sessionEnd(try SessionID.parse(words[2]))
            default: throw .invalidArgument("usage: session new|end")
            }
        case "sftp":
            guard words.count == 2 else { throw .invalidArgument("usage: sftp SESSION") }
            return .sftp(try SessionID.parse(words[1]))
        case "shell":
            guard words.count == 2 else { throw .invalidArgument("usage: shell SESSION") }
            return .shell(try SessionID.parse(words[1]))
        case "audit":
            return .audit(try parseAudit(Array(words.dropFirst())))
        case "help", nil:
            return .help
        default:
            throw .invalidArgument("unknown command '\(words[0].prefix(40))'")
        }
    }

    private static func parseAudit(_ words: [String]) throws(TandemError) -> Audit {
        var rest = Array(words.dropFirst())
        func ticket() throws(TandemError) -> Int {
            guard let t = try takeOption("--ticket", from: &rest), let n = Int(t), n > 0 else {
                throw .invalidArgument("give the ticket: --ticket N")
            }
            return n
        }
        switch words.first {
        case "log":
            if let s = try takeOption("--session", from: &rest) { return .logSession(try SessionID.parse(s)) }
            return .logTicket(try ticket())
        case "verify": return .verify(ticket: try ticket())
        case "export": return .export(ticket: try ticket())
        case "recordings":
            guard rest.count == 1 else { throw .invalidArgument("usage: audit recordings SESSION") }
            return .recordings(try SessionID.parse(rest[0]))
        case "recording":
            guard rest.count == 2, rest[1].count == 64, rest[1].allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
                throw .invalidArgument("usage: audit recording SESSION SHA256")
            }
            return .recording(try SessionID.parse(rest[0]), sha256: rest[1])
        default:
            throw .invalidArgument("usage: audit log|verify|export|recordings|recording")
        }
    }

    private static func takeOption(_ name: String, from words: inout [String]) throws(TandemError) -> String? {
        guard let i = words.firstIndex(of: name) else { return nil }
        guard i + 1 < words.count else { throw .invalidArgument("\(name) needs a value") }
        let value = words[i + 1]
        words.removeSubrange(i...(i + 1))
        return value
    }

    /// Splits like a POSIX shell would for simple quoting ('…', "…", backslash).
    static func tokenize(_ line: String) throws(TandemError) -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var escape = false
        for ch in line {
            if escape { current.append(ch); escape = false; continue }
            if let q = quote {
                if ch == q { quote = nil } else if ch == "\\" && q == "\"" { escape = true } else { current.append(ch) }
                continue
            }
            switch ch {
            case "'", "\"": quote = ch; inWord = true
            case "\\": escape = true; inWord = true
            case " ", "\t", "\n":
                if inWord { words.append(current); current = ""; inWord = false }
            default: current.append(ch); inWord = true
            }
        }
        guard quote == nil, !escape else { throw .invalidArgument("unbalanced quotes in command") }
        if inWord { words.append(current) }
        return words
    }
}

/// The control parser, reachable from the fuzz targets (`TandemFuzzing`) without making its cases public.
public enum ControlCommandProbe {
    public static func parse(_ line: String) { _ = try? ControlCommand.parse(line) }
}
