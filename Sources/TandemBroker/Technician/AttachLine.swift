import TandemAPI
import TandemCore

/// What a stock OpenSSH client asks for as its remote command: `shell S`, `exec S -- COMMAND`
/// or `sftp S`. The `tandem` CLI sends a `ControlRequest` as JSON instead; only these three
/// relays are reachable in words, and nothing here splits words like a shell.
enum AttachLine {
    static func parse(_ line: String) throws(TandemError) -> ControlRequest {
        guard line.utf8.count <= ControlRequest.maxRequestBytes else {
            throw .frameTooLarge(line.utf8.count, limit: ControlRequest.maxRequestBytes)
        }
        if line.hasPrefix("exec ") {
            let rest = line.dropFirst(5)
            guard let sep = rest.range(of: " -- ") else { throw .invalidArgument("usage: exec SESSION -- COMMAND") }
            let id = try SessionID.parse(String(rest[..<sep.lowerBound]).trimmingCharacters(in: .whitespaces))
            let command = String(rest[sep.upperBound...])
            guard !command.trimmingCharacters(in: .whitespaces).isEmpty else { throw .invalidArgument("no command given after --") }
            guard command.utf8.count <= ControlRequest.maxCommandBytes else { throw .invalidArgument(ControlRequest.commandTooLong(command.utf8.count)) }
            return .exec(id, command: command)
        }
        let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        switch (words.first, words.count) {
        case ("shell", 2): return .shell(try SessionID.parse(words[1]))
        case ("sftp", 2): return .sftp(try SessionID.parse(words[1]))
        default: throw .invalidArgument(usage)
        }
    }

    static let usage = """
        This is the Tandem broker: use the 'tandem' CLI (tandem --help).
        For ssh, sftp, scp and rsync: 'tandem ssh-config >> ~/.ssh/config', then 'ssh s-7f3a9c2e'.
        """

    /// A remote command is a typed request when it is a JSON object, else an attach line.
    static func request(_ line: String) throws(TandemError) -> ControlRequest {
        line.first == "{" ? try ControlRequest.decode(Array(line.utf8)) : try parse(line)
    }
}

/// The control channel's two readers, reachable from the fuzz targets (`TandemFuzzing`).
public enum ControlRequestProbe {
    public static func parse(_ line: String) { _ = try? AttachLine.request(line) }
}
