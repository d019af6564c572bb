import Glibc

/// Reads the end-user's typed answers from standard input, one line at a time, with a deadline.
///
/// One reader for every answer (the offer and the questions during the session), byte by byte
/// with `read`, so no buffered reader holds a line that a later question should have had.
enum AnswerReader {
    /// The longest line kept; the rest of a longer one is read and dropped.
    static let lineLimit = 256

    /// The next line without its newline; nil at end of input, on a read error or at the deadline.
    static func line(timeoutSeconds: Double? = nil, cancelled: () -> Bool = { false }) -> String? {
        var bytes: [UInt8] = []
        let deadline = timeoutSeconds.map { monotonicSeconds() + $0 }
        while true {
            if let deadline {
                let left = deadline - monotonicSeconds()
                guard left > 0, !cancelled() else { return nil }
                var pfd = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
                // In short slices, so a withdrawn question stops waiting soon.
                let ready = poll(&pfd, 1, Int32(min(left, 0.25) * 1000))
                if ready < 0 && errno == EINTR { continue }
                guard ready > 0 else { if ready < 0 { return nil }; continue }
            }
            var byte: UInt8 = 0
            let n = read(0, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            guard n == 1 else { return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self) }
            if byte == UInt8(ascii: "\n") { return String(decoding: bytes, as: UTF8.self) }
            if bytes.count < lineLimit { bytes.append(byte) }
        }
    }

    /// Throws away what was typed before a question, so an old keystroke is not taken as its answer.
    static func discardTyped() {
        if isatty(0) == 1 { tcflush(0, TCIFLUSH) }
    }

    private static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
