import Crypto
import Foundation
import Glibc

/// A recording a broker left as a `.part` file when it stopped (or was lost) before finishing it:
/// claimed by renaming (so two brokers never finish one file), hashed as it is read, and named by
/// its SHA-256 in the recordings folder, as a finished recording is. Blocking: run off the actor.
struct UnfinishedRecording: Sendable {
    /// The file as it was found ("<session>-<milliseconds>.part").
    var file: String
    var sha256: String
    var bytes: Int

    /// The session a recording belongs to, from its name.
    var session: String? {
        let name = String(file.dropLast(".part".count))
        return name.lastIndex(of: "-").map { String(name[..<$0]) }
    }

    static let claimedSuffix = ".claimed"
    static let lockName = ".finishing.lock"

    /// Finishes every unfinished recording in `parts` (and any a broker claimed and did not
    /// finish), naming each in `directory`; those written to since `quietSince` are left alone.
    /// What cannot be finished stays in place, with the reason in `failures`.
    static func finishAll(in parts: String, into directory: String, quietSince: Date? = nil)
        -> (finished: [UnfinishedRecording], failures: [(file: String, reason: String)]) {
        // One broker at a time finishes a folder (a replica starting again on its host, and the
        // survivor that declared it lost, may both look): the other leaves it.
        let lock = open(parts + "/" + lockName, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else { return ([], []) }
        defer { Glibc.close(lock) }
        guard flock(lock, LOCK_EX | LOCK_NB) == 0 else { return ([], []) }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: parts)) ?? []).sorted()
        var finished: [UnfinishedRecording] = []
        var failures: [(String, String)] = []
        for name in names where name.hasSuffix(".part") || name.hasSuffix(".part" + claimedSuffix) {
            let path = parts + "/" + name
            if let quietSince, let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date,
               modified > quietSince {
                continue
            }
            let file = name.hasSuffix(claimedSuffix) ? String(name.dropLast(claimedSuffix.count)) : name
            let claimed = name.hasSuffix(claimedSuffix) ? path : path + claimedSuffix
            // Whoever renames it first finishes it.
            if claimed != path, rename(path, claimed) != 0 { continue }
            do {
                let (sha, bytes) = try hash(claimed)
                try AsciicastRecorder.name(claimed, sha256: sha, in: directory)
                finished.append(UnfinishedRecording(file: file, sha256: sha, bytes: bytes))
            } catch {
                failures.append((file, "\(error)"))
            }
        }
        return (finished, failures)
    }

    /// SHA-256 and size of a file read a megabyte at a time (a recording can be gigabytes).
    private static func hash(_ path: String) throws -> (String, Int) {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw RecordingFailure.fromErrno(errno, "cannot read") }
        defer { try? handle.close() }
        var hasher = SHA256()
        var total = 0
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
            total += chunk.count
        }
        return (hasher.finalize().hexString, total)
    }
}
