import Synchronization
import TandemCore
import TandemText

/// Who is in the session now, as the broker last said: the status line shows them all.
final class PeopleBoard: Sendable {
    private let list = Mutex<[SessionPeople.Person]>([])

    func set(_ people: SessionPeople) { list.withLock { $0 = people.people } }

    /// "alice is connected", or "alice and bob (watching) are connected", each name escaped.
    func connected(technician: String) -> String {
        let people = list.withLock { $0 }
        guard !people.isEmpty else { return "\(technician) is connected" }
        let names = people.prefix(9).map { person -> String in
            let name = TerminalText.field(person.who, limit: 32)
            switch person.mode {
            case "observe": return "\(name) (\(person.role == "technician" ? "" : person.role + ", ")watching)"
            case "pair": return "\(name) (typing)"
            default: return name
            }
        }
        let more = people.count > 9 ? " and \(people.count - 9) more" : ""
        return names.count == 1 && more.isEmpty ? "\(names[0]) is connected" : names.joined(separator: ", ") + more + " are connected"
    }
}
