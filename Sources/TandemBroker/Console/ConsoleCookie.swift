import Crypto
import Foundation
import TandemAudit

/// Reading the console cookie from a request, and the CSRF token bound to it.
enum ConsoleCookie {
    /// A Cookie header longer than this is not read (browsers send at most a few KiB).
    static let maxHeaderBytes = 8192

    /// The sign-in page's nonce: the form that spends a link must come with it, and a form another
    /// site sends cannot (the cookie is `SameSite=Strict`), even from a browser that sends no `Sec-Fetch-Site`.
    static let signInNonce = "tandem_signin"

    /// The console session cookie's value among a Cookie header's pairs, if it is there once.
    static func value(in header: String?, named name: String = ConsoleResponse.cookieName) -> String? {
        guard let header, header.utf8.count <= maxHeaderBytes else { return nil }
        let values = header.split(separator: ";").compactMap { pair -> Substring? in
            let trimmed = pair.drop { $0 == " " }
            guard let eq = trimmed.firstIndex(of: "="), trimmed[..<eq] == name else { return nil }
            return trimmed[trimmed.index(after: eq)...]
        }
        // Two cookies of the same name (one planted by a sibling domain, say): trust neither.
        guard values.count == 1, let only = values.first, !only.isEmpty else { return nil }
        return String(only)
    }

    /// The token forms carry: derived from the HttpOnly cookie, so a page of another site,
    /// which can neither read the cookie nor our pages, cannot make it.
    static func csrfToken(for cookie: String) -> String {
        String(SHA256.hash(data: Data(("tandem console csrf\n" + cookie).utf8)).hexString.prefix(40))
    }

    /// Compares without stopping at the first difference.
    static func sameToken(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
