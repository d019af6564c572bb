/// The version every Tandem program reports with `--version` (and the broker in its start line).
public enum TandemVersion {
    /// Raised with each release; packages (issue 15) take it from here.
    public static let current = "0.10.0-dev"
}
