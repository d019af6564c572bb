import Dispatch
import Synchronization
import TandemCore

/// Asks the end-user the broker's questions, one at a time, on a queue of its own: the SSH
/// thread never waits for a person.
final class Prompter: Sendable {
    private let queue = DispatchQueue(label: "tandem-agent-questions")
    private let home: String
    /// Seconds a question waits; the broker waits a little longer, so the user is told first.
    static let limitSeconds = 55

    init(home: String) {
        self.home = home
    }

    /// Queues `question`; the returned ticket withdraws it (the broker stopped waiting).
    @discardableResult
    func ask(_ question: ConsentQuestion, answered: @escaping @Sendable (ConsentAnswer) -> Void) -> PromptTicket {
        let home = self.home
        let ticket = PromptTicket()
        queue.async {
            // Withdrawn while it waited its turn: never shown.
            guard !ticket.isCancelled else { return answered(.noAnswer) }
            AnswerReader.discardTyped()
            Console.ask(QuestionText.ask(question, home: home))
            let typed = AnswerReader.line(timeoutSeconds: Double(Self.limitSeconds), cancelled: { ticket.isCancelled })
            let answer = QuestionText.answer(typed, kind: question.kind)
            let outcome = ticket.isCancelled ? "The question was withdrawn." : QuestionText.outcome(answer, limit: Self.limitSeconds)
            Console.answered(outcome, afterTyping: typed != nil)
            answered(answer)
        }
        return ticket
    }
}

/// A question in the queue or on screen, which the broker may withdraw.
final class PromptTicket: Sendable {
    private let cancelled = Atomic<Bool>(false)
    func cancel() { cancelled.store(true, ordering: .relaxed) }
    var isCancelled: Bool { cancelled.load(ordering: .relaxed) }
}

/// Where an answer waits for the SSH thread to send it.
final class AnswerSlot: Sendable {
    private let value = Mutex<ConsentAnswer?>(nil)
    func put(_ answer: ConsentAnswer) { value.withLock { $0 = answer } }
    func take() -> ConsentAnswer? { value.withLock { v in defer { v = nil }; return v } }
}
