import Foundation

/// Makes the agent's SFTP server list names a hostile machine could send, so the tests can
/// show that the technician's side and the broker refuse them.
///
/// Only with `TANDEM_ALLOW_TEST_FLAGS=1` and `TANDEM_TEST_HOSTILE_NAMES=1` (no release sets
/// them): an entry named `hostile-…` is listed as the rest of its name, percent-decoded, so
/// a file `hostile-..%2Fx` is listed as `../x` and `hostile-` as the empty name.
enum HostileNamesForTests {
    static let enabled: Bool = {
        let env = ProcessInfo.processInfo.environment
        return env["TANDEM_ALLOW_TEST_FLAGS"] == "1" && env["TANDEM_TEST_HOSTILE_NAMES"] == "1"
    }()

    static func listed(_ name: String) -> String {
        guard enabled, name.hasPrefix("hostile-") else { return name }
        var bytes: [UInt8] = []
        var rest = Array(name.utf8.dropFirst("hostile-".utf8.count))[...]
        while let first = rest.first {
            if first == UInt8(ascii: "%"), rest.count >= 3,
               let value = UInt8(String(decoding: rest.dropFirst().prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(value)
                rest = rest.dropFirst(3)
            } else {
                bytes.append(first)
                rest = rest.dropFirst()
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
