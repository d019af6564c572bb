import ArgumentParser
import Foundation
import TandemAPI
import TandemCore
import TandemText

/// One typed request to the broker on a fresh connection.
///
/// The broker answers with JSON lines on stdout (or raw bytes for bundles and recordings), and
/// with an `ErrorView` on stderr and a non-zero exit status when it refuses.
struct RemoteCall {
    let options: CLIOptions
    let request: ControlRequest

    /// Runs the request; each stdout line goes to `onLine`. Returns the exit status.
    func lines(_ onLine: @escaping (String) -> Void) throws -> Int32 {
        var pending = LineBuffer()
        let status = try raw { bytes in pending.add(bytes, onLine) }
        pending.finish(onLine)
        return status
    }

    /// Runs the request; stdout bytes go to `sink` as they come.
    func raw(_ sink: @escaping (UnsafeRawBufferPointer) -> Void) throws -> Int32 {
        let connection = try BrokerConnection(try options.resolve())
        let channel = try connection.session.openChannel()
        var errors = LineBuffer()
        let pump = ChannelPump(session: connection.session, channel: channel, forwardStdin: false, stdoutSink: sink,
                               stderrSink: { bytes in errors.add(bytes, Self.showError) })
        try channel.requestExec(request.json)
        let status = try pump.run()
        errors.finish(Self.showError)
        return status
    }

    /// Runs a request that answers with one value; exits with the broker's status when it refuses.
    func one<T: Decodable>(_ type: T.Type) throws -> T {
        let values = try many(T.self)
        guard let value = values.first else {
            writeText("tandem: the broker answered nothing this CLI can read\n", fd: 2)
            throw ExitCode(1)
        }
        return value
    }

    /// Runs a request that answers with one value per line; a line this CLI cannot read is an
    /// error, not something to leave out quietly (a broker of another version, say).
    func many<T: Decodable>(_ type: T.Type) throws -> [T] {
        var values: [T] = []
        var unreadable = 0
        let status = try lines { line in
            if let value = try? JSONDecoder().decode(T.self, from: Data(line.utf8)) { values.append(value) } else { unreadable += 1 }
        }
        guard status == 0 else { throw ExitCode(status) }
        guard unreadable == 0 else {
            writeText("tandem: \(unreadable) line(s) of the broker's answer could not be read; is the broker of another version than this CLI (\(TandemVersion.current))?\n", fd: 2)
            throw ExitCode(1)
        }
        return values
    }

    /// A refusal in the CLI's words; anything else the broker wrote, escaped.
    static func showError(_ line: String) {
        if let view = try? JSONDecoder().decode(ErrorView.self, from: Data(line.utf8)) {
            writeText("tandem: \(TerminalText.escape(view.error.message))\n", fd: 2)
        } else {
            writeText(TerminalText.escape(line) + "\n", fd: 2)
        }
    }
}

/// Bytes in, whole lines out; a line longer than the limit is passed on in pieces rather than held.
struct LineBuffer {
    private var pending: [UInt8] = []
    static let limit = 16 * 1024 * 1024

    mutating func add(_ bytes: UnsafeRawBufferPointer, _ onLine: (String) -> Void) {
        pending.append(contentsOf: bytes)
        while let nl = pending.firstIndex(of: 10) {
            onLine(String(decoding: pending[..<nl], as: UTF8.self))
            pending.removeSubrange(...nl)
        }
        if pending.count > Self.limit { finish(onLine) }
    }

    mutating func finish(_ onLine: (String) -> Void) {
        if !pending.isEmpty { onLine(String(decoding: pending, as: UTF8.self)) }
        pending.removeAll()
    }
}
