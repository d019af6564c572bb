import NIOCore

extension Channel {
    /// The remote end as `address:port`, for log lines ("unknown" once it is gone).
    var peerText: String {
        remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "unknown"
    }
}
