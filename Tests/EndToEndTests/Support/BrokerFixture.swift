import Foundation
import XCTest

/// A real broker on 127.0.0.1 (OS-picked port) with its own data, certificates and a technician.
final class BrokerFixture {
    let dir: URL
    let data: URL
    var port = 0
    var fingerprint = ""
    private(set) var broker: Child!
    private var children: [Child] = []
    /// The data folder is a tmpfs of this size, mounted by the fixture (storage tests).
    private let tmpfsMiB: Int?
    /// The broker's PostgreSQL database, when the run asks for one (TANDEM_TEST_DATABASE=postgres).
    let postgres: String?

    /// `brokerConfig` is written to tandemd.conf and passed with `--config`.
    init(name: String, serveArguments: [String] = [], brokerConfig: String? = nil, tmpfsMiB: Int? = nil) throws {
        dir = try Harness.scratch(name)
        data = dir.appendingPathComponent("data")
        self.tmpfsMiB = tmpfsMiB
        postgres = try Self.postgresDatabase(in: dir)
        // Every tandemd this test starts (the fixture's, and any the test runs itself) finds it here.
        if let postgres { setenv("TANDEM_DATABASE", postgres, 1) } else { unsetenv("TANDEM_DATABASE") }
        if let tmpfsMiB {
            try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
            try check(runTool("/bin/mount", ["-t", "tmpfs", "-o", "size=\(tmpfsMiB)m,mode=0700", "tmpfs", data.path], in: dir),
                      "mounting a \(tmpfsMiB) MiB tmpfs (the storage tests need root)")
        }
        let certs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("certs/make-dev-certs.sh")
        try check(runTool("/bin/bash", [certs.path, dir.appendingPathComponent("certs").path], in: dir), "make certs")
        try check(runTool("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", dir.appendingPathComponent("alice").path], in: dir), "keygen")
        try check(runTool(Harness.tool("tandemd"), ["init", "--data", data.path], in: dir), "init")
        if postgres != nil, FileManager.default.fileExists(atPath: data.appendingPathComponent("tandem.db").path) {
            throw Failure("the PostgreSQL pass made a SQLite file: tandemd did not take TANDEM_DATABASE")
        }
        try check(runTool(Harness.tool("tandemd"), ["user", "add", "alice", "--role", "technician",
                                                     "--key", dir.appendingPathComponent("alice.pub").path, "--data", data.path], in: dir), "user add")
        var extra = serveArguments
        if let brokerConfig {
            let path = dir.appendingPathComponent("tandemd.conf")
            try brokerConfig.write(to: path, atomically: true, encoding: .utf8)
            extra += ["--config", path.path]
        }
        try startBroker(extra)
    }

    func startBroker(_ extra: [String] = []) throws {
        broker = try Child(Harness.tool("tandemd"), ["serve", "--data", data.path, "--listen", "127.0.0.1:0",
                                                     "--cert", "certs/broker.crt", "--key", "certs/broker.key"] + extra,
                           in: dir, name: "tandemd")
        guard Harness.waitUntil(15, { self.broker.stdout.contains("listening on") }) else {
            throw Failure("broker did not start: \(broker.stderr)")
        }
        // The listening line, not the first address: "metrics on 127.0.0.1:…" may come first.
        let output = broker.stdout
        guard let line = output.split(separator: "\n").first(where: { $0.contains("listening on 127.0.0.1:") }),
              let port = Int(line.components(separatedBy: "listening on 127.0.0.1:")[1].prefix { $0.isNumber }),
              let fingerprint = line.components(separatedBy: "fingerprint ").dropFirst().first?.prefix(while: { !$0.isWhitespace }) else {
            throw Failure("the broker's listening line is not as expected: \(output)")
        }
        self.port = port
        self.fingerprint = String(fingerprint)
        try Harness.cliConfig(port: port, dir: dir, fingerprint: String(fingerprint))
            .write(to: dir.appendingPathComponent("tandem.conf"), atomically: true, encoding: .utf8)
    }

    var cliConfig: [String] { ["--config", dir.appendingPathComponent("tandem.conf").path] }

    /// Registers another person with their own key and CLI config (`NAME.conf`).
    func addUser(_ name: String, role: String) throws {
        let key = dir.appendingPathComponent(name).path
        try check(runTool("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key], in: dir), "keygen")
        try check(runTool(Harness.tool("tandemd"), ["user", "add", name, "--role", role, "--key", key + ".pub", "--data", data.path], in: dir), "user add")
        let conf = try String(contentsOf: dir.appendingPathComponent("tandem.conf"), encoding: .utf8)
            .replacingOccurrences(of: "identity = \(dir.path)/alice", with: "identity = \(key)")
            .replacingOccurrences(of: "user = alice", with: "user = \(name)")
        try conf.write(to: dir.appendingPathComponent("\(name).conf"), atomically: true, encoding: .utf8)
    }

    /// A key pair for `tandem-loadgen` (load.key, load.pub in `load/`), registered as technician "load".
    func addLoadUser() throws -> URL {
        let keys = dir.appendingPathComponent("load")
        try FileManager.default.createDirectory(at: keys, withIntermediateDirectories: true)
        try check(runTool(Harness.tool("tandem-loadgen"), ["keygen", "--out", keys.path], in: dir), "loadgen keygen")
        try check(runTool(Harness.tool("tandemd"), ["user", "add", "load", "--role", "technician",
                                                   "--key", keys.appendingPathComponent("load.pub").path, "--data", data.path], in: dir), "user add load")
        return keys
    }

    /// `tandem …` as another registered person.
    func tandem(as name: String, _ words: [String], after: [String] = [], timeout: Double = 30) throws
        -> (status: Int32?, stdout: String, stderr: String) {
        try runTool(Harness.tool("tandem"), words + ["--config", dir.appendingPathComponent("\(name).conf").path] + after,
                    in: dir, timeout: timeout)
    }

    /// Runs SQL against the broker's database with the sqlite3 shell (for tampering tests).
    @discardableResult
    func sql(_ statement: String) throws -> String {
        if let postgres {
            // The tests write SQLite's JSON accessor; PostgreSQL spells it with ->>.
            let translated = statement.replacingOccurrences(of: #"json_extract\((\w+), '\$\.(\w+)'\)"#, with: "($1::json->>'$2')",
                                                            options: .regularExpression)
            let url = String(postgres.prefix { $0 != "?" })
            let r = try runTool("/usr/bin/psql", [url, "-q", "-At", "-F", "|", "-v", "ON_ERROR_STOP=1", "-c", translated], in: dir)
            guard r.status == 0 else { throw Failure("psql failed: \(r.stderr)") }
            return r.stdout
        }
        let r = try runTool("/usr/bin/sqlite3", [data.appendingPathComponent("tandem.db").path, statement], in: dir)
        guard r.status == 0 else { throw Failure("sqlite3 failed: \(r.stderr)") }
        return r.stdout
    }

    /// `tandem SUBCOMMAND… --config …`, run to completion.
    func tandem(_ words: [String], after: [String] = [], stdin: String? = nil, timeout: Double = 30) throws
        -> (status: Int32?, stdout: String, stderr: String) {
        try runTool(Harness.tool("tandem"), words + cliConfig + after, in: dir, stdin: stdin, timeout: timeout)
    }

    /// `tandem session new --no-shell`, left running until the user answers.
    func requestSession(ticket: Int, scope: String = "shell", extra: [String] = []) throws -> (child: Child, code: String, id: String) {
        try requestSession(reference: "\(ticket)", scope: scope, extra: extra)
    }

    /// The same for a ticket named as the CLI takes it (`rt:1042`).
    func requestSession(reference: String, scope: String = "shell", extra: [String] = []) throws -> (child: Child, code: String, id: String) {
        let child = try Child(Harness.tool("tandem"), ["session", "new", "--ticket", reference, "--scope", scope, "--no-shell"] + extra + cliConfig,
                              in: dir, name: "session-new-\(UUID().uuidString.prefix(4))")
        children.append(child)
        guard Harness.waitUntil(20, { child.stdout.contains("Read this code") }) else {
            throw Failure("no code: \(child.stdout) \(child.stderr)")
        }
        let out = child.stdout
        let code = out.components(separatedBy: "user: ")[1].prefix { $0.isNumber || $0 == " " }.trimmingCharacters(in: .whitespaces)
        let id = String(out.components(separatedBy: "Session ")[1].prefix { $0 != " " })
        return (child, code, id)
    }

    /// `tandem-agent CODE`, answering the prompt with `answer`; `environment` is added to this process's.
    func agent(code: String, answer: String?, environment: [String: String] = [:]) throws -> Child {
        let env = environment.isEmpty ? nil : ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let child = try Child(Harness.tool("tandem-agent"), [code, "--broker", "127.0.0.1:\(port)", "--ca", "certs/ca.crt"],
                              in: dir, name: "agent-\(UUID().uuidString.prefix(4))", stdin: .pipe, environment: env)
        children.append(child)
        if let answer { child.send(answer + "\n") }
        return child
    }

    /// A ticket, a session request and an agent that said yes: returns the active session id.
    func activeSession(title: String = "Printer offline", scope: String = "shell",
                       agentEnvironment: [String: String] = [:]) throws -> (id: String, agent: Child) {
        let ticket = try tandem(["ticket", "new", title, "--requester", "jane"])
        guard ticket.status == 0 else { throw Failure("ticket new failed: \(ticket.stderr)") }
        let number = Int(ticket.stdout.components(separatedBy: "#")[1].prefix { $0.isNumber })!
        let request = try requestSession(ticket: number, scope: scope)
        let agent = try agent(code: request.code, answer: "y", environment: agentEnvironment)
        guard request.child.wait(20) == 0 else { throw Failure("session not approved: \(request.child.stdout) \(request.child.stderr)") }
        return (request.id, agent)
    }

    /// Flags that make the stock OpenSSH client reach the broker through a TLS ProxyCommand.
    var opensshArguments: [String] {
        let ca = dir.appendingPathComponent("certs/ca.crt").path
        let proxy = "openssl s_client -quiet -verify_quiet -verify_return_error -alpn tandem-ssh/1 -connect 127.0.0.1:\(port) -CAfile \(ca)"
        return ["-F", "/dev/null", "-i", dir.appendingPathComponent("alice").path, "-o", "IdentitiesOnly=yes",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
                "-o", "ProxyCommand=\(proxy)"]
    }

    func eventKinds() throws -> [String] {
        try sql("SELECT kind FROM events ORDER BY id").split(separator: "\n").map(String.init)
    }

    /// With TANDEM_TEST_DATABASE=postgres: a new database on the run's server (TANDEM_TEST_POSTGRES).
    private static func postgresDatabase(in dir: URL) throws -> String? {
        guard ProcessInfo.processInfo.environment["TANDEM_TEST_DATABASE"] == "postgres" else { return nil }
        return try newPostgresDatabase(in: dir)
    }

    /// A new empty database on the run's PostgreSQL server; its URL.
    static func newPostgresDatabase(in dir: URL) throws -> String {
        guard let server = ProcessInfo.processInfo.environment["TANDEM_TEST_POSTGRES"], !server.isEmpty else {
            throw Failure("no PostgreSQL server: TANDEM_TEST_POSTGRES is not set (scripts/test.sh starts one)")
        }
        let name = "e2e_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let made = try runTool("/usr/bin/psql", [server + "/postgres", "-q", "-v", "ON_ERROR_STOP=1", "-c", "CREATE DATABASE \(name)"], in: dir)
        guard made.status == 0 else { throw Failure("psql could not create a database: \(made.stderr)") }
        return "\(server)/\(name)?sslmode=disable"
    }

    /// A process the test started itself, stopped with the fixture's.
    func adopt(_ child: Child) { children.append(child) }

    func stopAll() {
        for c in children { c.stop() }
        broker?.stop()
        if tmpfsMiB != nil { _ = try? runTool("/bin/umount", ["-l", data.path], in: dir) }
    }

    /// Grows the data folder's tmpfs: the operator making room.
    func resizeData(toMiB size: Int) throws {
        try check(runTool("/bin/mount", ["-o", "remount,size=\(size)m", data.path], in: dir), "remount")
    }

    deinit { stopAll() }

    private func check(_ r: (status: Int32?, stdout: String, stderr: String), _ what: String) throws {
        guard r.status == 0 else { throw Failure("\(what) failed: \(r.stdout) \(r.stderr)") }
    }
}

struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
