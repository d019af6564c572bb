/// The `Decoder` behind `FlatFields.decode`: reads one level of string fields.
struct FlatDecoder: Decoder {
    let fields: [String: String]
    /// Set when decoding one field's value (a raw-value enum, a `CommaList`).
    var single: String?
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard single == nil else { throw FlatFieldsError.unsupported("a nested object") }
        return KeyedDecodingContainer(Keyed<Key>(fields: fields))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { throw FlatFieldsError.unsupported("a list") }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        guard let single else { throw FlatFieldsError.unsupported("a single value at the top") }
        return Single(text: single, codingPath: codingPath)
    }

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let fields: [String: String]
        var codingPath: [any CodingKey] = []
        var allKeys: [Key] { fields.keys.compactMap { Key(stringValue: $0) } }

        func contains(_ key: Key) -> Bool { fields[FlatFields.key(key.stringValue)] != nil }
        func decodeNil(forKey key: Key) throws -> Bool { !contains(key) }

        private func text(_ key: Key) throws -> String {
            let name = FlatFields.key(key.stringValue)
            guard let value = fields[name] else { throw FlatFieldsError.missing(name) }
            return value
        }

        func decode(_ type: String.Type, forKey key: Key) throws -> String { try text(key) }
        func decode(_ type: Int.Type, forKey key: Key) throws -> Int {
            let value = try text(key)
            // Only the form `String(n)` writes, so reading back and writing again changes no byte.
            guard let n = Int(value), String(n) == value else {
                throw FlatFieldsError.notAnInteger(key: FlatFields.key(key.stringValue), value: value)
            }
            return n
        }
        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            if T.self == Int.self, let n = try decode(Int.self, forKey: key) as? T { return n }
            return try T(from: FlatDecoder(fields: [:], single: try text(key)))
        }
        func nestedContainer<N: CodingKey>(keyedBy type: N.Type, forKey key: Key) throws -> KeyedDecodingContainer<N> {
            throw FlatFieldsError.unsupported("a nested object")
        }
        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { throw FlatFieldsError.unsupported("a list") }
        func superDecoder() throws -> any Decoder { throw FlatFieldsError.unsupported("a super decoder") }
        func superDecoder(forKey key: Key) throws -> any Decoder { throw FlatFieldsError.unsupported("a super decoder") }
    }

    struct Single: SingleValueDecodingContainer {
        let text: String
        var codingPath: [any CodingKey]

        func decodeNil() -> Bool { false }
        func decode(_ type: String.Type) throws -> String { text }
        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            guard let value = text as? T else { throw FlatFieldsError.unsupported("\(T.self) in one field") }
            return value
        }
    }
}
