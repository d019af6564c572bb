import CPTY
import Foundation
import Glibc

/// A child process started with `tandem_spawn_pipes` (fork and execve, every other descriptor
/// closed), for the tests.
///
/// Not Foundation's `Process`: its `run()` on Linux reads `/proc/self/fd` past the end of a
/// directory entry (swift-corelibs-foundation#5472, fixed after Swift 6.3.1) and crashed a
/// test run now and then.
public final class SpawnedProcess: @unchecked Sendable {
    public let processIdentifier: pid_t
    private let lock = NSLock()
    private var status: Int32?

    /// Starts `executable`; `stdin`, `stdout` and `stderr` are descriptors the caller keeps and closes.
    public init(_ executable: String, _ arguments: [String], in directory: String?, environment: [String: String]? = nil,
                stdin: Int32, stdout: Int32, stderr: Int32) throws {
        guard access(executable, X_OK) == 0 else { throw SpawnError("cannot run \(executable): \(String(cString: strerror(errno)))") }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let env = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { env?.forEach { free($0) } }
        let pid = argv.withUnsafeBufferPointer { args in
            if let env {
                return env.withUnsafeBufferPointer { tandem_spawn_pipes(executable, args.baseAddress, $0.baseAddress, directory, stdin, stdout, stderr) }
            }
            return tandem_spawn_pipes(executable, args.baseAddress, environ, directory, stdin, stdout, stderr)
        }
        guard pid > 0 else { throw SpawnError("fork failed: \(String(cString: strerror(errno)))") }
        processIdentifier = pid
    }

    /// Reaps the child if it has exited; true while it runs.
    public var isRunning: Bool {
        lock.withLock {
            if status != nil { return false }
            var raw: Int32 = 0
            let r = waitpid(processIdentifier, &raw, WNOHANG)
            if r == processIdentifier { status = Self.decode(raw); return false }
            // Reaped elsewhere (waitUntilExit on another thread) or not ours: no longer running.
            if r < 0 && errno == ECHILD { return false }
            return r == 0
        }
    }

    /// The exit status, or 128 + the signal that ended it (as a shell reports it); -1 if unknown.
    public var terminationStatus: Int32 {
        _ = isRunning
        return lock.withLock { status ?? -1 }
    }

    public func interrupt() { kill(processIdentifier, SIGINT) }
    public func terminate() { kill(processIdentifier, SIGTERM) }

    /// Blocks until the child exits (without holding the lock, so `isRunning` still answers).
    public func waitUntilExit() {
        guard lock.withLock({ status == nil }) else { return }
        var raw: Int32 = 0
        var r: pid_t
        repeat { r = waitpid(processIdentifier, &raw, 0) } while r < 0 && errno == EINTR
        lock.withLock {
            if status == nil { status = r == processIdentifier ? Self.decode(raw) : -1 }
        }
    }

    private static func decode(_ raw: Int32) -> Int32 {
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import as functions.
        (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
    }
}

/// Why a child could not be started.
public struct SpawnError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Runs a program to its end, or kills it after `timeout` seconds: its exit status, stdout and
/// stderr (through temporary files).
public func runToCompletion(_ executable: String, _ arguments: [String], in directory: String? = nil,
                            environment: [String: String]? = nil, timeout: Double = 120) throws -> (status: Int32, stdout: String, stderr: String) {
    let base = FileManager.default.temporaryDirectory.appendingPathComponent("spawn-\(UUID().uuidString)").path
    let out = open(base + ".out", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    let err = open(base + ".err", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
    defer {
        [out, err, null].forEach { if $0 >= 0 { close($0) } }
        unlink(base + ".out")
        unlink(base + ".err")
    }
    guard out >= 0, err >= 0, null >= 0 else { throw SpawnError("cannot open files for \(executable)'s output") }
    let child = try SpawnedProcess(executable, arguments, in: directory, environment: environment, stdin: null, stdout: out, stderr: err)
    let deadline = Date().addingTimeInterval(timeout)
    while child.isRunning {
        guard Date() < deadline else {
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
            throw SpawnError("\(executable) did not finish within \(Int(timeout)) seconds")
        }
        usleep(10_000)
    }
    let read = { (path: String) in (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
    return (child.terminationStatus, read(base + ".out"), read(base + ".err"))
}
