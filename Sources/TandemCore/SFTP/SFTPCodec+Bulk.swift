extension SFTPCodec {
    /// A WRITE request or DATA reply, its file bytes left in place in the packet.
    public struct Bulk {
        public var id: UInt32
        /// The WRITE's handle and offset; nil and 0 for DATA.
        public var handle: [UInt8]?
        public var offset: UInt64
        public var data: ArraySlice<UInt8>
    }

    /// Reads WRITE and DATA, the packets that carry file content, without copying the content:
    /// the relay's observer hashes it where it lies. Nil for any other packet, and for a
    /// malformed one, which `decode` then reports.
    public static func bulk(_ body: ArraySlice<UInt8>) -> Bulk? {
        guard let type = body.first, type == 6 || type == 103 else { return nil }
        var r = Reader(bytes: body.dropFirst())
        do {
            let id = try r.u32("id")
            if type == 103 { return Bulk(id: id, handle: nil, offset: 0, data: try r.slice("data")) }
            let handle = try r.bytes("handle")
            let offset = try r.u64("offset")
            return Bulk(id: id, handle: handle, offset: offset, data: try r.slice("data"))
        } catch {
            return nil
        }
    }
}
