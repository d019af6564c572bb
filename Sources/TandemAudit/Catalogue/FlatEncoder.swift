/// The `Encoder` behind `FlatFields.encode`: one level of keys, string values.
struct FlatEncoder: Encoder {
    let box: FieldBox
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(Keyed<Key>(box: box))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer { Unsupported(codingPath: codingPath) }

    func singleValueContainer() -> any SingleValueEncodingContainer { Single(box: box, codingPath: codingPath) }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let box: FieldBox
        var codingPath: [any CodingKey] = []

        mutating func encodeNil(forKey key: Key) throws {}
        mutating func encode(_ value: String, forKey key: Key) throws { box.fields[FlatFields.key(key.stringValue)] = value }
        mutating func encode(_ value: Int, forKey key: Key) throws { box.fields[FlatFields.key(key.stringValue)] = String(value) }
        mutating func encode(_ value: Int64, forKey key: Key) throws { box.fields[FlatFields.key(key.stringValue)] = String(value) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            let inner = FieldBox()
            try value.encode(to: FlatEncoder(box: inner))
            guard let text = inner.single, inner.fields.isEmpty else {
                throw FlatFieldsError.unsupported("'\(key.stringValue)' does not encode as one string")
            }
            box.fields[FlatFields.key(key.stringValue)] = text
        }
        mutating func nestedContainer<N: CodingKey>(keyedBy keyType: N.Type, forKey key: Key) -> KeyedEncodingContainer<N> {
            KeyedEncodingContainer(Keyed<N>(box: FieldBox()))
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer { Unsupported(codingPath: codingPath) }
        mutating func superEncoder() -> any Encoder { FlatEncoder(box: FieldBox()) }
        mutating func superEncoder(forKey key: Key) -> any Encoder { FlatEncoder(box: FieldBox()) }
    }

    struct Single: SingleValueEncodingContainer {
        let box: FieldBox
        var codingPath: [any CodingKey]

        mutating func encodeNil() throws { throw FlatFieldsError.unsupported("a nil single value") }
        mutating func encode(_ value: String) throws { box.single = value }
        mutating func encode(_ value: Int) throws { box.single = String(value) }
        mutating func encode<T: Encodable>(_ value: T) throws {
            guard let text = value as? String else { throw FlatFieldsError.unsupported("\(T.self)") }
            box.single = text
        }
    }

    /// Lists and nesting are not part of the audit format: any use of this throws.
    struct Unsupported: UnkeyedEncodingContainer {
        var codingPath: [any CodingKey]
        var count: Int { 0 }
        mutating func encodeNil() throws { throw FlatFieldsError.unsupported("a list") }
        mutating func encode<T: Encodable>(_ value: T) throws { throw FlatFieldsError.unsupported("a list") }
        mutating func nestedContainer<N: CodingKey>(keyedBy keyType: N.Type) -> KeyedEncodingContainer<N> {
            KeyedEncodingContainer(Keyed<N>(box: FieldBox()))
        }
        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { self }
        mutating func superEncoder() -> any Encoder { FlatEncoder(box: FieldBox()) }
    }
}
