import ArgumentParser
import Foundation
import Glibc
import TandemAPI
import TandemAudit
import TandemCore
import TandemText

extension TandemCommand.Audit {
    struct Replay: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Play a session's terminal recordings (shells and single commands) at their real pace.",
            discussion: """
                Example: tandem audit replay s-7f3a9c2e --speed 2 --from 00:01:30   (output before --from is shown at once)
                The recording came from the user's machine: by default the player drops what would act
                outside the screen (clipboard writes, window titles, device-control strings, queries
                that make your terminal answer). --raw plays every byte as recorded.
                """)
        @OptionGroup var options: CLIOptions
        @Argument(help: "Session id.") var session: String
        @Option(help: "Playback speed; 2 plays twice as fast.") var speed: Double = 1
        @Option(help: "Start at this offset (90, 1:30 or 00:01:30).") var from: String?
        @Flag(help: "Play every recorded byte, including sequences that act outside the screen.") var raw = false

        func validate() throws {
            _ = try SessionID.parse(session)
            guard speed > 0, speed <= 1000 else { throw ValidationError("--speed takes a number above 0, e.g. 2") }
            if let from, Asciicast.parseOffset(from) == nil { throw ValidationError("--from takes 90, 1:30 or 00:01:30") }
        }

        func run() throws {
            let id = SessionID(rawValue: session)
            let hashes = try RemoteCall(options: options, request: .auditRecordings(id)).many(String.self)
            guard !hashes.isEmpty else {
                writeText("Session \(session) has no recordings (nothing ran in it; see 'tandem audit log').\n", fd: 2)
                throw ExitCode(1)
            }
            let start = from.flatMap(Asciicast.parseOffset) ?? 0
            let terminal = TerminalMode()
            terminal.passOutputThrough()
            defer { terminal.restore() }
            var dropped = 0
            defer {
                if dropped > 0 {
                    writeText("\r\n(\(dropped) sequence\(dropped == 1 ? "" : "s") acting outside the screen not played; --raw plays them)\r\n", fd: 2)
                }
            }
            for (index, sha) in hashes.enumerated() {
                var bytes = Data()
                let s = try RemoteCall(options: options, request: .auditRecording(id, sha256: sha)).raw { bytes.append(contentsOf: $0) }
                guard s == 0 else { throw ExitCode(s) }
                if hashes.count > 1 { writeText("\r\n── recording \(index + 1) of \(hashes.count) ──\r\n", fd: 2) }
                // A fresh filter per recording: one that ends inside a string must not swallow the next.
                var filter = raw ? nil : ReplayFilter()
                play(try Asciicast.parse(bytes), from: start, filter: &filter)
                dropped += filter?.dropped ?? 0
            }
        }

        private func play(_ cast: Asciicast, from start: Double, filter: inout ReplayFilter?) {
            let began = Date()
            for frame in cast.frames where frame.kind == "o" {
                if frame.time > start {
                    let due = (frame.time - start) / speed
                    let wait = due - Date().timeIntervalSince(began)
                    if wait > 0 { usleep(useconds_t(min(wait, 3600) * 1_000_000)) }
                }
                writeText(filter?.filter(frame.data) ?? frame.data)
            }
        }
    }
}
