import NIOCore
import NIOSSH
import TandemAudit
import TandemCore
import TandemText

/// A `files:ask` SFTP channel's questions: whom to ask, and the state of its two streams.
struct FileQuestions {
    /// The agent's link questions go on (a new one after the agent's connection came back).
    var link: AgentLink
    let memory: FileConsentMemory
    /// The end-user as the record names them (the actor of their answers).
    let endUser: String
    let technician: String
    var gate = SFTPConsentGate()
    var replies = SFTPReplyBoundary()
    /// Refusals waiting for the agent's reply stream to reach the end of a packet.
    var refusals: [ByteBuffer] = []

    init(link: AgentLink, memory: FileConsentMemory, endUser: String, technician: String) {
        self.link = link
        self.memory = memory
        self.endUser = endUser
        self.technician = technician
    }

    /// Most bytes held behind an open question before the technician's side stops being read.
    static let heldLimit = 1 << 20
}

extension TechnicianChannelHandler {
    /// Passes the technician's SFTP bytes through the gate, asking the user where it says.
    func ask(about bytes: ByteBuffer, agent: Channel, context: ChannelHandlerContext) {
        guard var questions = consent else { return }
        let actions = questions.gate.take(bytes, askEach: !questions.memory.allowedAll)
        consent = questions
        perform(actions, agent: agent, context: context)
        // Requests behind an open question wait in memory: a client that keeps sending is not read.
        if let gate = consent?.gate, gate.waiting, gate.held > FileQuestions.heldLimit { context.channel.setAutoRead(false) }
    }

    private func perform(_ actions: [SFTPConsentGate.Action], agent: Channel, context: ChannelHandlerContext) {
        for action in actions {
            switch action {
            case .forward(let bytes):
                pass(SSHChannelData(type: .channel, data: .byteBuffer(bytes)), to: agent, context: context)
            case .fail(let why):
                logger.warning("closed a file transfer in session \(attached?.id.rawValue ?? "-"): \(TerminalText.field(why, limit: 200))")
                if let attached {
                    broker.journal.submit(SFTPMalformed(from: "technician", problem: why, action: "channel closed"), ticket: attached.ticket,
                                          session: attached.id, actor: identity.user?.name ?? "unknown")
                }
                agent.close(promise: nil)
                context.close(promise: nil)
            case .ask(let question, let held):
                ask(question, held: held, agent: agent, context: context)
            }
        }
        agent.flush()
    }

    /// Asks the user about one held request; its answer goes on record before the request
    /// reaches the agent or the technician hears "the user refused".
    private func ask(_ question: SFTPConsentGate.Question, held: ByteBuffer, agent: Channel, context: ChannelHandlerContext) {
        guard let questions = consent, let attached else { return }
        let journal = broker.journal
        let logger = self.logger
        let loop = context.eventLoop
        let asked = ConsentQuestion(kind: .file, who: questions.technician, operation: question.operation, path: question.path, to: question.to)
        questions.link.ask(asked).flatMap { answer in
            let receipt = journal.submit(FileConsent(op: question.operation, path: String(question.path.prefix(4096)),
                                                     to: question.to.map { String($0.prefix(4096)) }, answer: answer.recorded,
                                                     technician: questions.technician),
                                         ticket: attached.ticket, session: attached.id, actor: questions.endUser)
            return loop.makeFutureWithTask { (answer, await receipt.stored()) }
        }.hop(to: loop).assumeIsolated().whenSuccess { answer, stored in
            guard var questions = self.consent else { return }
            // The agent's connection may have dropped while the user was asked.
            var agentNow: Channel?
            if case .relaying(let agent) = self.mode { agentNow = agent }
            if answer == .all { questions.memory.allowAll() }
            if answer.allows && stored, let agentNow {
                if question.operation == "upload" || question.operation == "download" { questions.gate.opened(id: question.id, path: question.path) }
                self.pass(SSHChannelData(type: .channel, data: .byteBuffer(held)), to: agentNow, context: context)
            } else {
                let why = !stored ? "the broker could not record the user's answer"
                    : answer.allows ? "the user's connection dropped while they were asked; try again" : SFTPConsentGate.refusedMessage
                logger.notice("session \(attached.id): \(question.operation) of \(TerminalText.field(question.path, limit: 200)) not done: \(why) (\(answer.recorded))")
                questions.refusals.append(SFTPConsentGate.refusal(id: question.id, allocator: context.channel.allocator, message: why))
            }
            let more = questions.gate.answered(askEach: !questions.memory.allowedAll)
            self.consent = questions
            self.sendRefusals(context: context)
            if let agentNow {
                self.perform(more, agent: agentNow, context: context)
                if self.consent?.gate.waiting == false { context.channel.setAutoRead(agentNow.isWritable) }
            } else {
                self.holdForAgent(more, context: context)
            }
        }
    }

    /// Without an agent (its connection dropped), what the gate let through waits with the rest of
    /// the input, and a request that needs a question is asked once the agent is back.
    private func holdForAgent(_ actions: [SFTPConsentGate.Action], context: ChannelHandlerContext) {
        var later: [SSHChannelData] = []
        for action in actions {
            switch action {
            case .forward(let bytes): later.append(SSHChannelData(type: .channel, data: .byteBuffer(bytes)))
            case .ask(_, let held): later.append(SSHChannelData(type: .channel, data: .byteBuffer(held)))
            case .fail: context.close(promise: nil)
            }
        }
        if let rest = consent?.gate.drain() { later.append(SSHChannelData(type: .channel, data: .byteBuffer(rest))) }
        // They go before what arrived since: they were sent first.
        switch mode {
        case .waitingForAgent(let held, let bytes): mode = .waitingForAgent(held: later + held, bytes: bytes)
        case .connecting(let pending): mode = .connecting(pending: later + pending)
        default: break
        }
    }

    /// Sends the refusals made here, once the agent's replies are between two packets.
    func sendRefusals(context: ChannelHandlerContext) {
        guard var questions = consent, questions.replies.atBoundary, !questions.refusals.isEmpty else { return }
        let refusals = questions.refusals
        questions.refusals.removeAll()
        consent = questions
        for packet in refusals {
            context.write(wrapOutboundOut(SSHChannelData(type: .channel, data: .byteBuffer(packet))), promise: nil)
        }
        context.flush()
    }
}
