import NIOCore

extension Channel {
    /// The client as `address:port`, for log lines and records: the one a load balancer's PROXY
    /// header named, else the socket's other end ("unknown" once it is gone).
    var peerText: String {
        if let source = ClientAddressBook.shared.source(of: self) { return "\(source.address):\(source.port)" }
        return remoteText
    }

    /// The client's address alone (the guess limiter counts by it).
    var clientIP: String {
        ClientAddressBook.shared.source(of: self)?.address ?? remoteAddress?.ipAddress ?? "unknown"
    }

    /// The socket's other end, whatever a header said.
    var remoteText: String {
        remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "unknown"
    }
}
