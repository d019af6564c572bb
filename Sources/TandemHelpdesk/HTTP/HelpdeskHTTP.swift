import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import NIOHTTP1
import TandemText

/// The one HTTP client of the helpdesk sinks: no redirects (a credential must never follow a
/// redirect to another host), bounded answers, timeouts on every call.
public final class HelpdeskHTTP: Sendable {
    private let client: HTTPClient
    /// Largest answer read; a history page of a busy ticket stays well below it.
    public static let maxAnswerBytes = 4 << 20
    static let callTimeout: TimeAmount = .seconds(30)

    public init() {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow,
                                                     timeout: .init(connect: .seconds(10), read: .seconds(30)))
        configuration.httpVersion = .http1Only
        // The outbox retries with its own backoff (visible in sync-status and the metrics); a technician
        // asking for a session on a ticket while the helpdesk is down hears so at once, not after 10 s.
        configuration.connectionPool.retryConnectionEstablishment = false
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Sends one request; any status comes back (the caller decides what it means).
    public func send(_ method: HTTPMethod, _ url: URL, headers: [(String, String)], body: Data? = nil,
                     maxBytes: Int = maxAnswerBytes) async throws(HelpdeskError) -> (status: Int, body: Data) {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.headers.add(name: "User-Agent", value: "tandemd")
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        do {
            let response = try await client.execute(request, timeout: Self.callTimeout)
            let buffer = try await response.body.collect(upTo: maxBytes)
            return (Int(response.status.code), Data(buffer.readableBytesView))
        } catch is NIOTooManyBytesError {
            throw .tooLarge("more than \(maxBytes) bytes from \(url.path)")
        } catch {
            throw Self.neverSent(error) ? .unreachable(Self.describe(error)) : .noAnswer(Self.describe(error))
        }
    }

    /// Sends and requires a 2xx answer.
    public func expectSuccess(_ method: HTTPMethod, _ url: URL, headers: [(String, String)], body: Data? = nil) async throws(HelpdeskError) -> Data {
        let (status, answer) = try await send(method, url, headers: headers, body: body)
        guard (200..<300).contains(status) else { throw .status(status, Self.excerpt(answer)) }
        return answer
    }

    public func shutdown() async {
        try? await client.shutdown()
    }

    /// The start of an answer, one line, escaped: for an error message and a log line.
    public static func excerpt(_ body: Data) -> String {
        TerminalText.field(String(decoding: body.prefix(300), as: UTF8.self), limit: 200)
    }

    /// Whether the request surely never reached the helpdesk (no connection was made); anything
    /// else may have arrived, and is treated as such.
    static func neverSent(_ error: any Error) -> Bool {
        if let e = error as? HTTPClientError, e == .connectTimeout { return true }
        if error is NIOConnectionError { return true }
        let text = "\(error)"
        return ["Connection refused", "connectTimeout", "No route to host", "Network is unreachable"].contains { text.contains($0) }
    }

    static func describe(_ error: any Error) -> String {
        if let e = error as? HTTPClientError { return "\(e)" }
        return TerminalText.field("\(error)", limit: 200)
    }

    /// A token or key as configured: one word, nothing else (it goes into a header as it is).
    public static func credential(_ value: String, what: String) throws(HelpdeskError) -> String {
        guard !value.isEmpty, !value.contains(where: { $0.isWhitespace || $0.isNewline }) else {
            throw .misconfigured("\(what) is empty or holds spaces")
        }
        return value
    }

    /// A helpdesk URL as configured: http(s) with a host; plain HTTP only to this machine, so a
    /// credential never crosses a network in clear.
    public static func baseURL(_ text: String, setting: String) throws(HelpdeskError) -> URL {
        let trimmed = text.hasSuffix("/") ? String(text.dropLast()) : text
        guard let url = URL(string: trimmed), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty,
              scheme == "https" || scheme == "http" else {
            throw .misconfigured("\(setting) must be an http(s) URL such as https://rt.example.com (got \(TerminalText.field(text)))")
        }
        if scheme == "http" && !["127.0.0.1", "localhost", "::1", "[::1]"].contains(host.lowercased()) {
            throw .misconfigured("\(setting) uses plain http to \(TerminalText.field(host)): credentials would cross the network in clear; use https")
        }
        guard url.user == nil, url.password == nil, url.query == nil else {
            throw .misconfigured("\(setting) must not hold a user, password or query: credentials come from their own settings")
        }
        return url
    }
}
