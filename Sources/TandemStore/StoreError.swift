/// What can go wrong in the broker's store, with what the operator can do.
public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case sql(String)
    case constraint(String)
    case notInitialised(String)
    /// The disk (or quota) is full: nothing more can be written until space is freed.
    case full(String)
    /// `PRAGMA quick_check` or `integrity_check` found damage.
    case damaged(path: String, report: String)

    public var isFull: Bool { if case .full = self { return true } else { return false } }

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): return "cannot open the database at \(path): \(reason). Check the path and its permissions, or run 'tandemd init'."
        case .sql(let text): return "database error: \(text)"
        case .constraint(let text): return "database refused the change: \(text)"
        case .notInitialised(let dir): return "no broker data in \(dir). Run 'tandemd init --data \(dir)' first."
        case .full(let text): return "the broker's disk is full (\(text)). Free space in the data directory."
        case .damaged(let path, let report):
            return "the database \(path) is damaged (\(report.prefix(300))). Stop the broker, keep a copy of the damaged file, "
                + "restore tandem.db from your last backup, then run 'tandemd check' to confirm."
        }
    }
}
