import Foundation
import Glibc
import TandemTestSupport
import XCTest

/// Where the built programs are, and a scratch directory per test.
enum Harness {
    /// The build products sit next to the test bundle (`.build/debug`).
    static let binDir: URL = {
        let bundleDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        if FileManager.default.fileExists(atPath: bundleDir.appendingPathComponent("tandemd").path) { return bundleDir }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug")
    }()

    static func tool(_ name: String) -> String { binDir.appendingPathComponent(name).path }

    static func scratch(_ name: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-e2e-\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A port on 127.0.0.1 the OS picked and nobody holds now (for a server that needs its port named).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket: \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw Failure("bind: \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// A technician's CLI config for a broker on 127.0.0.1.
    static func cliConfig(port: Int, dir: URL, key: String = "alice", user: String = "alice", fingerprint: String) -> String {
        """
        broker = 127.0.0.1:\(port)
        ca = \(dir.path)/certs/ca.crt
        identity = \(dir.path)/\(key)
        user = \(user)
        fingerprint = \(fingerprint)
        """
    }

    /// Polls `condition` every 50 ms until it holds or `seconds` pass.
    @discardableResult
    static func waitUntil(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(50_000)
        }
        return condition()
    }
}

/// A child process whose output goes to files, always stopped at the end of a test.
final class Child {
    let process: SpawnedProcess
    let stdoutURL: URL
    let stderrURL: URL
    private var stdinPipe: FileHandle?

    init(_ executable: String, _ arguments: [String], in dir: URL, name: String, stdin: StdinMode = .null,
         environment: [String: String]? = nil) throws {
        stdoutURL = dir.appendingPathComponent("\(name).out")
        stderrURL = dir.appendingPathComponent("\(name).err")
        let out = open(stdoutURL.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        let err = open(stderrURL.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        defer { [out, err].forEach { if $0 >= 0 { close($0) } } }
        guard out >= 0, err >= 0 else { throw Failure("cannot create \(name)'s output files in \(dir.path)") }
        var input: Int32
        var closeInput = true
        switch stdin {
        case .null: input = open("/dev/null", O_RDONLY | O_CLOEXEC)
        case .pipe:
            var fds: [Int32] = [-1, -1]
            guard pipe(&fds) == 0 else { throw Failure("no pipe for \(name)'s stdin") }
            fds.forEach { _ = fcntl($0, F_SETFD, FD_CLOEXEC) }
            input = fds[0]
            stdinPipe = FileHandle(fileDescriptor: fds[1], closeOnDealloc: true)
        case .handle(let h):
            input = h.fileDescriptor
            closeInput = false
        }
        defer { if closeInput { close(input) } }
        process = try SpawnedProcess(executable, arguments, in: dir.path, environment: environment, stdin: input, stdout: out, stderr: err)
    }

    enum StdinMode {
        case null
        case pipe
        case handle(FileHandle)
    }

    var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }

    func send(_ text: String) {
        try? stdinPipe?.write(contentsOf: Data(text.utf8))
    }

    func closeStdin() { try? stdinPipe?.close() }

    /// Waits for exit; returns the status, or nil if it had to be killed.
    @discardableResult
    func wait(_ seconds: Double) -> Int32? {
        if Harness.waitUntil(seconds, { !process.isRunning }) { return process.terminationStatus }
        stop()
        return nil
    }

    func stop() {
        guard process.isRunning else { return }
        process.interrupt()
        if !Harness.waitUntil(3, { !process.isRunning }) {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}

/// Runs a command to completion and returns status and output.
@discardableResult
func runTool(_ executable: String, _ arguments: [String], in dir: URL, stdin: String? = nil, timeout: Double = 30) throws
    -> (status: Int32?, stdout: String, stderr: String) {
    let name = "run-\(UUID().uuidString.prefix(6))"
    let child: Child
    if let stdin {
        let path = dir.appendingPathComponent("\(name).in")
        _ = FileManager.default.createFile(atPath: path.path, contents: Data(stdin.utf8))
        child = try Child(executable, arguments, in: dir, name: name, stdin: .handle(try FileHandle(forReadingFrom: path)))
    } else {
        child = try Child(executable, arguments, in: dir, name: name)
    }
    let status = child.wait(timeout)
    return (status, child.stdout, child.stderr)
}
