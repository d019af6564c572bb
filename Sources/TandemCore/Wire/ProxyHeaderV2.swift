/// The PROXY protocol version 2 header a load balancer (haproxy's `send-proxy-v2`) puts before a
/// connection's first byte: who the client really is. Read only from `proxy-from` addresses.
public struct ProxyHeaderV2: Sendable, Equatable {
    /// The client's address and port; nil for a LOCAL header (the balancer's own health check)
    /// or an address family other than TCP over IPv4 or IPv6.
    public var source: (address: String, port: Int)?
    /// Bytes the header took, TLVs included.
    public var length: Int

    public init(source: (address: String, port: Int)?, length: Int) {
        self.source = source
        self.length = length
    }

    public static func == (a: ProxyHeaderV2, b: ProxyHeaderV2) -> Bool {
        a.length == b.length && a.source?.address == b.source?.address && a.source?.port == b.source?.port
    }

    public static let signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]
    /// The longest address block accepted: the addresses and a few TLVs, far less than the 64 KiB
    /// the length field could claim.
    public static let maxAddressBytes = 512

    public enum Outcome: Sendable, Equatable {
        case needMore
        case header(ProxyHeaderV2)
    }

    /// Reads a header from the start of `bytes`, or says more are needed; throws on anything else.
    public static func parse(_ bytes: some Collection<UInt8>) throws(TandemError) -> Outcome {
        let b = Array(bytes.prefix(16 + maxAddressBytes))
        for (i, byte) in b.prefix(signature.count).enumerated() where byte != signature[i] {
            throw .protocolViolation("no PROXY v2 header from the load balancer (is send-proxy-v2 set, and is this address in proxy-from?)")
        }
        guard b.count >= 16 else { return .needMore }
        let versionCommand = b[12]
        guard versionCommand >> 4 == 2 else { throw .protocolViolation("PROXY header version \(versionCommand >> 4), not 2") }
        let command = versionCommand & 0x0F
        guard command <= 1 else { throw .protocolViolation("PROXY header command \(command) is neither LOCAL nor PROXY") }
        let family = b[13]
        let length = Int(b[14]) << 8 | Int(b[15])
        guard length <= maxAddressBytes else { throw .protocolViolation("PROXY header of \(length) address bytes, more than \(maxAddressBytes)") }
        guard b.count >= 16 + length else { return .needMore }
        let block = b[16..<(16 + length)]
        var header = ProxyHeaderV2(source: nil, length: 16 + length)
        guard command == 1 else { return .header(header) }
        switch family {
        case 0x11:
            guard length >= 12 else { throw .protocolViolation("PROXY header too short for TCP over IPv4") }
            let a = Array(block.prefix(12))
            header.source = (a[0..<4].map(String.init).joined(separator: "."), Int(a[8]) << 8 | Int(a[9]))
        case 0x21:
            guard length >= 36 else { throw .protocolViolation("PROXY header too short for TCP over IPv6") }
            let a = Array(block.prefix(36))
            let groups = stride(from: 0, to: 16, by: 2).map { String(Int(a[$0]) << 8 | Int(a[$0 + 1]), radix: 16) }
            header.source = (groups.joined(separator: ":"), Int(a[32]) << 8 | Int(a[33]))
        default:
            // UNSPEC, UDP or Unix sockets: nothing to take; the balancer's own address stands.
            break
        }
        return .header(header)
    }
}
