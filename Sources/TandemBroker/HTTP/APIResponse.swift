import Foundation
import Hummingbird
import TandemAPI

/// How the HTTP API writes its answers: JSON bodies, JSON errors.
enum APIResponse {
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        guard let data = WireJSON.encode(value) else {
            return error(ErrorView(code: "unavailable", message: "the answer could not be encoded"), status: .internalServerError)
        }
        return bytes(data, contentType: "application/json", status: status)
    }

    static func bytes(_ data: Data, contentType: String, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        headers[.cacheControl] = "no-store"
        headers[.init("X-Content-Type-Options")!] = "nosniff"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func error(_ view: ErrorView, status: HTTPResponse.Status) -> Response {
        var response = json(view, status: status)
        if status == .unauthorized { response.headers[.wwwAuthenticate] = #"Bearer realm="tandem""# }
        return response
    }

    static func failure(_ failure: ServiceFailure) -> Response {
        error(failure.view, status: HTTPResponse.Status(code: failure.httpStatus))
    }
}
