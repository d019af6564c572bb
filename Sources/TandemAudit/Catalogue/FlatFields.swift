/// Turns a typed event payload into the flat `[String: String]` map that the canonical form
/// hashes, and back.
///
/// Property names become snake_case keys (`bytesToAgent` → `bytes_to_agent`); integers are
/// written in decimal; `nil` leaves the key out. Only what the audit format holds is
/// supported: strings, integers, optionals of them, and values that encode as one string
/// (raw-value enums, `CommaList`). Anything else throws rather than guessing a format.
public enum FlatFields {
    public static func encode<T: Encodable>(_ value: T) throws(FlatFieldsError) -> [String: String] {
        let box = FieldBox()
        do {
            try value.encode(to: FlatEncoder(box: box))
        } catch let error as FlatFieldsError {
            throw error
        } catch {
            throw .unsupported("\(error)")
        }
        return box.fields
    }

    public static func decode<T: Decodable>(_ type: T.Type, from fields: [String: String]) throws(FlatFieldsError) -> T {
        do {
            return try T(from: FlatDecoder(fields: fields))
        } catch let error as FlatFieldsError {
            throw error
        } catch {
            throw .unsupported("\(error)")
        }
    }

    /// `recordingSha256` → `recording_sha256`.
    static func key(_ name: String) -> String {
        var out = ""
        var previousWasLower = false
        for ch in name {
            if ch.isUppercase && previousWasLower { out.append("_") }
            out.append(contentsOf: ch.lowercased())
            previousWasLower = ch.isLowercase || ch.isNumber
        }
        return out
    }
}

/// Why a payload could not be turned into fields or read back from them.
public enum FlatFieldsError: Error, Equatable, CustomStringConvertible {
    case missing(String)
    case notAnInteger(key: String, value: String)
    case unsupported(String)

    public var description: String {
        switch self {
        case .missing(let key): return "the event has no '\(key)'"
        case .notAnInteger(let key, let value): return "'\(key)' is not an integer written the canonical way: \(value)"
        case .unsupported(let what): return "not an audit field: \(what)"
        }
    }
}

/// A list held in one field as comma-separated words (`"files,shell"`), in the producer's order.
public struct CommaList: Codable, Sendable, Equatable {
    public var items: [String]

    public init(_ items: [String]) { self.items = items }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        items = text.isEmpty ? [] : text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(items.joined(separator: ","))
    }
}

final class FieldBox {
    var fields: [String: String] = [:]
    /// Set by a value that encodes as one string.
    var single: String?
}
