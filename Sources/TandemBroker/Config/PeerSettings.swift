/// Several brokers on one PostgreSQL (`peer-listen` and its company): where this replica takes
/// forwarded channels from the others, and the certificates of the peer link.
public struct PeerSettings: Sendable {
    public var host: String
    public var port: Int
    /// The address the others dial (`peer-advertise`); the bound address when nil.
    public var advertise: String?
    public var caPath: String
    public var certificatePath: String
    public var keyPath: String
    /// Seconds without a heartbeat after which a replica is declared lost and its sessions end (`replica-timeout`).
    public var timeout: Double = 10
    /// How often this replica says it is alive, and looks for replicas that stopped saying so.
    public var heartbeatInterval: Double { min(2, timeout / 3) }

    public init(host: String, port: Int, advertise: String?, caPath: String, certificatePath: String, keyPath: String) {
        self.host = host
        self.port = port
        self.advertise = advertise
        self.caPath = caPath
        self.certificatePath = certificatePath
        self.keyPath = keyPath
    }
}
