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

    public init(host: String, port: Int, advertise: String?, caPath: String, certificatePath: String, keyPath: String) {
        self.host = host
        self.port = port
        self.advertise = advertise
        self.caPath = caPath
        self.certificatePath = certificatePath
        self.keyPath = keyPath
    }
}
