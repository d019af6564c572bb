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

    func ask(_ question: ConsentQuestion, answered: @escaping @Sendable (ConsentAnswer) -> Void) {
        let home = self.home
        queue.async {
            AnswerReader.discardTyped()
            Console.ask(QuestionText.ask(question, home: home))
            let typed = AnswerReader.line(timeoutSeconds: Double(Self.limitSeconds))
            let answer = QuestionText.answer(typed, kind: question.kind)
            Console.answered(QuestionText.outcome(answer, limit: Self.limitSeconds), afterTyping: typed != nil)
            answered(answer)
        }
    }
}

/// Where an answer waits for the SSH thread to send it.
final class AnswerSlot: Sendable {
    private let value = Mutex<ConsentAnswer?>(nil)
    func put(_ answer: ConsentAnswer) { value.withLock { $0 = answer } }
    func take() -> ConsentAnswer? { value.withLock { v in defer { v = nil }; return v } }
}
