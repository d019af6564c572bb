import Foundation
import Glibc
import NIOCore
import NIOSSH
import Synchronization

/// One session's shell as the technician sees it: sends input, times the answers.
public final class LoadShell: Sendable {
    struct State {
        var tail: [UInt8] = []
        var sentAt: ContinuousClock.Instant?
        var waitingFor: [UInt8] = []
        var prompt: CheckedContinuation<Void, Error>?
        var sawPrompt = false
        var count = 0
    }

    let technician: LoadTechnician
    let agent: AgentHolder
    private let state = Mutex(State())
    private let channel = Mutex<Channel?>(nil)
    private let samples = Mutex<Samples?>(nil)

    public init(technician: LoadTechnician, agent: AgentHolder) {
        self.technician = technician
        self.agent = agent
    }

    /// Opens the shell and waits (at most 30 s) for its first prompt.
    public func open(session: String) async throws {
        let ch = try await technician.shell(session) { [self] bytes in received(bytes) }.get()
        channel.withLock { $0 = ch }
        let timeout = ch.eventLoop.scheduleTask(in: .seconds(30)) { [self] in
            state.withLock { s in
                s.prompt?.resume(throwing: LoadEnvironment.Failure.setup("no prompt within 30 s in \(session)"))
                s.prompt = nil
            }
        }
        defer { timeout.cancel() }
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, Error>) in
            let ready = state.withLock { s -> Bool in
                if s.sawPrompt { return true }
                s.prompt = c
                return false
            }
            if ready { c.resume() }
        }
    }

    /// Runs `echo tN` once a second (first at a random offset); times each until its output line.
    public func tickEverySecond(into samples: Samples) -> RepeatedTask {
        let ch = channel.withLock { $0 }!
        return ch.eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(Int64.random(in: 0..<1000)), delay: .seconds(1)) { [self] _ in
            let n = nextCount()
            send(Array("echo t\(n)\r".utf8), expecting: Array("\r\nt\(n)\r\n".utf8), samples: samples, over: ch)
        }
    }

    /// Types one character every `interval` and times its echo (Ctrl-U every 40 keeps lines short).
    public func typeEvery(_ interval: TimeAmount, into samples: Samples) -> RepeatedTask {
        let ch = channel.withLock { $0 }!
        return ch.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [self] _ in
            let n = nextCount()
            if n % 40 == 0 {
                write([0x15], over: ch)
                return
            }
            let c = Array("abcdefghij".utf8)[n % 10]
            send([c], expecting: [c], samples: samples, over: ch)
        }
    }

    private func nextCount() -> Int {
        state.withLock { s in
            s.count += 1
            return s.count
        }
    }

    private func send(_ bytes: [UInt8], expecting: [UInt8], samples: Samples, over ch: Channel) {
        let busy = state.withLock { s -> Bool in
            guard s.sentAt == nil else { return true }  // the last one has not come back: skip this turn
            s.tail.removeAll()
            s.waitingFor = expecting
            s.sentAt = .now
            return false
        }
        if busy { return }
        self.samples.withLock { $0 = samples }
        write(bytes, over: ch)
    }

    private func write(_ bytes: [UInt8], over ch: Channel) {
        let buffer = ch.allocator.buffer(bytes: bytes)
        ch.writeAndFlush(SSHChannelData(type: .channel, data: .byteBuffer(buffer)), promise: nil)
    }

    private func received(_ bytes: ByteBuffer) {
        let done = state.withLock { s -> Duration? in
            s.tail.append(contentsOf: bytes.readableBytesView)
            if !s.sawPrompt, s.tail.suffix(2) == Array("$ ".utf8)[...] {
                s.sawPrompt = true
                s.prompt?.resume()
                s.prompt = nil
            }
            guard let at = s.sentAt, !s.waitingFor.isEmpty, s.tail.firstRange(of: s.waitingFor) != nil else {
                if s.tail.count > 4096 { s.tail.removeFirst(s.tail.count - 256) }
                return nil
            }
            s.sentAt = nil
            s.tail.removeAll()
            return ContinuousClock.now - at
        }
        if let done, let samples = samples.withLock({ $0 }) { samples.add(done) }
    }

    /// A keystroke sent whose echo has not come back yet.
    public var waiting: Bool { state.withLock { $0.sentAt != nil } }

    public func close() {
        channel.withLock { $0 }?.close(promise: nil)
        technician.close()
        agent.close()
    }

    /// Types `text` and waits (at most 30 s) until the shell's output holds `answer`.
    public func type(_ text: String, until answer: String) async throws {
        guard let ch = channel.withLock({ $0 }) else { throw LoadEnvironment.Failure.setup("no shell to type into") }
        let want = Array(answer.utf8)
        let deadline = ContinuousClock.now + .seconds(30)
        state.withLock { $0.tail.removeAll() }
        try await ch.writeAndFlush(SSHChannelData(type: .channel, data: .byteBuffer(ch.allocator.buffer(string: text)))).get()
        while !state.withLock({ $0.tail.firstRange(of: want) != nil }) {
            guard ContinuousClock.now < deadline else { throw LoadEnvironment.Failure.setup("no '\(answer.debugDescription)' within 30 s") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Waits (at most 30 s) until the broker has closed the shell; an error if it has not.
    public func closed() async throws {
        guard let ch = channel.withLock({ $0 }) else { return }
        let late = Lines()
        let timeout = ch.eventLoop.scheduleTask(in: .seconds(30)) {
            late.add("timed out")
            ch.close(promise: nil)
        }
        defer { timeout.cancel() }
        try? await ch.closeFuture.get()
        if !late.all.isEmpty { throw LoadEnvironment.Failure.setup("the broker did not close the shell within 30 s") }
    }
}

/// The agent's connection, known once it has joined.
public final class AgentHolder: Sendable {
    private let channel = Mutex<Channel?>(nil)
    public init() {}
    public func set(_ c: Channel) { channel.withLock { $0 = c } }
    public func close() { channel.withLock { $0 }?.close(promise: nil) }
}

/// Lines of text collected from a command, in order.
public final class Lines: Sendable {
    private let lines = Mutex<[String]>([])
    public init() {}
    public func add(_ line: String) { lines.withLock { $0.append(line) } }
    public var all: [String] { lines.withLock { $0 } }
}

/// Latencies in milliseconds.
public final class Samples: Sendable {
    private let values = Mutex<[Double]>([])
    public init() {}
    public func add(_ d: Duration) {
        let ms = Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
        values.withLock { $0.append(ms) }
    }
    /// The slowest answer, in milliseconds (nan when none came back).
    public var max: Double { values.withLock { $0 }.max() ?? .nan }

    public func quantiles() -> (p50: Double, p99: Double, count: Int) {
        let v = values.withLock { $0 }.sorted()
        guard !v.isEmpty else { return (.nan, .nan, 0) }
        return (v[v.count / 2], v[min(v.count - 1, Int(0.99 * Double(v.count)))], v.count)
    }
}

/// Memory and CPU of another process, from /proc.
public struct ProcessStats {
    public var pid: Int32
    public init(pid: Int32) { self.pid = pid }
    public func rssKiB() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }
    public func cpuSeconds() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        let ticks = (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
