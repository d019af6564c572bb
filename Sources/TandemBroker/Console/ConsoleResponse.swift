import Foundation
import HTTPTypes
import Hummingbird

/// How every console response is sent: HTML with headers that keep the page its own (no
/// inline script, no framing, no referrer), and the cookie that carries a console session.
enum ConsoleResponse {
    static let cookieName = "tandem_console"
    /// The player's terminal runs as WebAssembly; nothing else needs more than 'self'.
    static let contentSecurityPolicy = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; "
        + "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    static func page(_ html: String, status: HTTPResponse.Status = .ok) -> Response {
        bytes(Data(html.utf8), contentType: "text/html; charset=utf-8", status: status)
    }

    static func bytes(_ data: Data, contentType: String, status: HTTPResponse.Status = .ok, cacheable: Bool = false) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        headers[.cacheControl] = cacheable ? "private, max-age=3600" : "no-store"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func redirect(to location: String) -> Response {
        var headers = HTTPFields()
        headers[.location] = location
        headers[.cacheControl] = "no-store"
        return Response(status: .seeOther, headers: headers)
    }

    /// The security headers every console response carries, whatever made it.
    static func secure(_ response: inout Response) {
        response.headers[.contentSecurityPolicy] = contentSecurityPolicy
        response.headers[.init("X-Frame-Options")!] = "DENY"
        response.headers[.init("Referrer-Policy")!] = "no-referrer"
        response.headers[.init("X-Content-Type-Options")!] = "nosniff"
        response.headers[.init("Cross-Origin-Opener-Policy")!] = "same-origin"
        response.headers[.init("Cross-Origin-Resource-Policy")!] = "same-origin"
    }

    /// Sets (or, with nil, clears) the console session cookie: never readable by scripts, sent
    /// only over TLS, only to the console, and never with a request another site starts.
    static func setCookie(_ value: String?, on response: inout Response) {
        let maxAge = value == nil ? 0 : ConsoleService.sessionSeconds
        response.headers.append(HTTPField(name: .setCookie, value: "\(cookieName)=\(value ?? ""); Path=/console; Max-Age=\(maxAge); HttpOnly; Secure; SameSite=Strict"))
    }

    /// The sign-in page's nonce (nil clears it): readable only by its own form's target.
    static func setSignInNonce(_ value: String?, on response: inout Response) {
        let maxAge = value == nil ? 0 : 300
        response.headers.append(HTTPField(name: .setCookie,
                                          value: "\(ConsoleCookie.signInNonce)=\(value ?? ""); Path=/console/sign-in; Max-Age=\(maxAge); HttpOnly; Secure; SameSite=Strict"))
    }
}
