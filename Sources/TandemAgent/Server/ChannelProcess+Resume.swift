import LibSSH
import TandemCore

// MARK: - Taking a channel up again after a dropped connection

extension ChannelProcess {
    /// Sends to the technician, keeping a relayed channel's bytes to send again after a drop.
    func emit(_ bytes: UnsafeRawBufferPointer, stderr: Bool = false) {
        if tag != nil { output.append(bytes, stderr: stderr) }
        channel.enqueue(bytes, stderr: stderr)
    }

    func emit(_ bytes: [UInt8], stderr: Bool = false) {
        bytes.withUnsafeBytes { emit($0, stderr: stderr) }
    }

    /// This channel was opened to take up another process's relay: once its line is in, the
    /// process it names takes the channel over, or the broker hears why not.
    func takeUpIfAsked() {
        guard let request = resumeRequest else { return }
        let parsed: (ResumeLine, Int)?
        do {
            parsed = try ResumeLine.parse(request)
        } catch {
            resumeRequest = nil
            return refuseResume("\(error)")
        }
        guard let (line, used) = parsed else { return }
        resumeRequest = nil
        guard case .request = line, let onResume else { return refuseResume("not a request") }
        let rest = Array(request[used...])
        let channel = self.channel
        switch onResume(line, channel) {
        case .accepted:
            handedOver = true
            // Input that came with the line is the resumed process's.
            if !rest.isEmpty { rest.withUnsafeBytes { channel.onData?($0, false) } }
        case .refused(let why):
            refuseResume(why)
        case .request:
            refuseResume("unexpected")
        }
    }

    private func refuseResume(_ why: String) {
        channel.enqueue(Array(ResumeLine.refused(why).text.utf8))
        channel.flush()
        channel.sendEOF()
        channel.close()
        handedOver = true
    }

    /// Nobody took this channel up after the connection came back: the process ends, unseen.
    func abandon() {
        terminate()
        handedOver = true
    }

    /// Binds this detached process to `newChannel`: answers with the input it has, then sends
    /// again the output from where the broker stopped receiving.
    func rebind(to newChannel: SSHChannel, brokerReceived: UInt64) -> ResumeLine {
        guard !linked else { return .refused("channel \(tag ?? -1) is not waiting") }
        guard let again = output.since(brokerReceived) else {
            return .refused("the output from byte \(brokerReceived) on is no longer kept (\(output.start)–\(output.total))")
        }
        rebindChannel(newChannel)
        // Its end (exit status, EOF, close) may have been sent into the lost connection: again.
        if finished { reopenEnd() }
        let reply = ResumeLine.accepted(received: inputReceived)
        newChannel.enqueue(Array(reply.text.utf8))
        for chunk in again { newChannel.enqueue(chunk.bytes, stderr: chunk.stderr) }
        newChannel.flush()
        return reply
    }
}
