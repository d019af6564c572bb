import Hummingbird
import TandemAPI

/// A request on the HTTP API, with the caller its bearer token stands for.
struct APIRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// Set by `BearerAuthentication` before any route runs.
    var caller: Caller?
    /// The console session cookie the caller came with (its forms' CSRF tokens derive from it).
    var consoleCookie: String?
    /// A console form's fields, read and checked (CSRF) before its route runs.
    var form: [String: String] = [:]
    /// Who connected (address and port), for the log.
    let peer: String
    /// The address alone: what a refusal budget counts by.
    let peerHost: String

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        peerHost = source.channel.clientIP
        peer = source.channel.peerText
    }

    /// Request bodies are small JSON objects: the same limit as a control-channel request.
    var maxUploadSize: Int { ControlRequest.maxRequestBytes }
}
