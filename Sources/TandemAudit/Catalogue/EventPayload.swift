/// A typed event body: its kind is fixed by its type, its fields are the event's `data`.
public protocol EventPayload: Codable, Sendable, Equatable {
    static var kind: EventKind { get }
}

extension EventPayload {
    public var kind: EventKind { Self.kind }

    /// The `data` object of the canonical form.
    public var fields: [String: String] {
        // Payloads hold only strings, integers and one-string values: encoding cannot fail.
        (try? FlatFields.encode(self)) ?? [:]
    }
}

/// Why a stored event does not read back as a typed payload.
public enum EventDecodingError: Error, Equatable, CustomStringConvertible {
    case unknownKind(String)
    case fields(kind: String, FlatFieldsError)
    /// It decodes, but writing it again would not give the same bytes (an unknown key, say): `extra` names the keys that differ.
    case notCanonical(kind: String, extra: [String])

    public var description: String {
        switch self {
        case .unknownKind(let kind): return "'\(kind)' is not an event kind this broker knows"
        case .fields(let kind, let error): return "a '\(kind)' event: \(error)"
        case .notCanonical(let kind, let extra): return "a '\(kind)' event does not write back the same: the fields that differ are \(extra.sorted().joined(separator: ", "))"
        }
    }
}

extension EventKind {
    /// Reads a stored event's `data` as this catalogue's payload; it must write back byte for byte.
    public static func decode(kind: String, data: [String: String]) throws(EventDecodingError) -> any EventPayload {
        guard let known = EventKind(rawValue: kind) else { throw .unknownKind(kind) }
        let payload: any EventPayload
        do {
            payload = try FlatFields.decode(known.payloadType, from: data)
        } catch {
            throw .fields(kind: kind, error)
        }
        let again = payload.fields
        guard again == data else {
            throw .notCanonical(kind: kind, extra: Set(data.keys).union(again.keys).filter { data[$0] != again[$0] }.sorted())
        }
        return payload
    }
}
