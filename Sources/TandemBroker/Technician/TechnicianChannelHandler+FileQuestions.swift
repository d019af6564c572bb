import NIOCore
import NIOSSH
import TandemAudit
import TandemCore
import TandemText

/// A `files:ask` SFTP channel's questions: whom to ask, and the state of its two streams.
struct FileQuestions {
    let link: AgentLink
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
            guard case .relaying(let agent) = self.mode, var questions = self.consent else { return }
            if answer == .all { questions.memory.allowAll() }
            if answer.allows && stored {
                self.pass(SSHChannelData(type: .channel, data: .byteBuffer(held)), to: agent, context: context)
            } else {
                logger.notice("session \(attached.id): \(stored ? "the user did not allow" : "could not record the answer to") \(question.operation) of \(TerminalText.field(question.path, limit: 200)) (\(answer.recorded))")
                questions.refusals.append(SFTPConsentGate.refusal(id: question.id, allocator: context.channel.allocator,
                                                                  message: stored ? SFTPConsentGate.refusedMessage : "the broker could not record the user's answer"))
            }
            let more = questions.gate.answered(askEach: !questions.memory.allowedAll)
            self.consent = questions
            self.sendRefusals(context: context)
            self.perform(more, agent: agent, context: context)
            if self.consent?.gate.waiting == false { context.channel.setAutoRead(agent.isWritable) }
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
