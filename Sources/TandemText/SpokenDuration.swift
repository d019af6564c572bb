/// Durations as people read them: "45 s", "12 min 5 s", "1 h 30 min".
public enum SpokenDuration {
    public static func of(seconds: Int) -> String {
        let s = max(0, seconds)
        if s < 60 { return "\(s) s" }
        if s < 3600 { return "\(s / 60) min \(s % 60) s" }
        return "\(s / 3600) h \(s % 3600 / 60) min"
    }
}
