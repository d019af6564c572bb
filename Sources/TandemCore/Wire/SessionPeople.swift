import Foundation

/// Who is in the session besides the end-user: its technician and everyone who joined. The
/// broker sends the whole list to the agent at each change, on the subsystem `subsystem`.
public struct SessionPeople: Codable, Sendable, Equatable {
    public struct Person: Codable, Sendable, Equatable {
        public var who: String
        /// technician, admin, auditor
        public var role: String
        /// `technician` (the session's own), `observe` or `pair`
        public var mode: String

        public init(who: String, role: String, mode: String) {
            self.who = who
            self.role = role
            self.mode = mode
        }
    }

    public var people: [Person]

    public init(people: [Person]) { self.people = people }

    public static let subsystem = "tandem-people@tandem"
    /// Far more than the people a session admits (its technician and at most 8 watchers).
    public static let maxBytes = 8 * 1024

    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return Array((try? encoder.encode(self)) ?? Data())
    }

    /// Reads the list; longer than `maxBytes`, or not a list, is an error.
    public static func decode(_ bytes: [UInt8]) throws(BrokerMessageError) -> SessionPeople {
        guard bytes.count <= maxBytes else { throw .oversized(bytes.count) }
        guard let list = try? JSONDecoder().decode(SessionPeople.self, from: Data(bytes)), list.people.count <= 32 else { throw .malformed }
        return list
    }
}
