import Foundation

/// Sizes for people: decimal (`2.1 MB`) for end-users, binary (`2.0 MiB`) for technicians' transfer rates.
public enum ByteCount {
    public static func format(_ bytes: UInt64, binary: Bool) -> String {
        let base: Double = binary ? 1024 : 1000
        let units = binary ? ["B", "KiB", "MiB", "GiB", "TiB"] : ["bytes", "KB", "MB", "GB", "TB"]
        var value = Double(bytes)
        var unit = 0
        while value >= base && unit < units.count - 1 {
            value /= base
            unit += 1
        }
        return unit == 0 ? "\(bytes) \(units[0])" : String(format: "%.1f %@", value, units[unit])
    }
}
