import Foundation
import TandemCore
import TandemText

/// `get` and `get -r`: copies from the user's machine, treating every name it sends as hostile.
///
/// A listed name that is not one plain path component is skipped (the broker records it);
/// a link is recreated only when it points inside the copy; nothing is written through a
/// link on the technician's side (`LocalDirectory`). Each skip is printed, and the ones only
/// this side can judge are reported to the broker for the ticket.
final class TreeDownload {
    private let sftp: SFTPClient
    private let progress: Progress
    private(set) var skipped = 0

    init(sftp: SFTPClient, progress: Progress) {
        self.sftp = sftp
        self.progress = progress
    }

    /// Copies `remote` (a file, or a folder with everything in it) to `name` in `dir`.
    func copy(_ remote: String, into dir: LocalDirectory, as name: String, recursive: Bool) throws {
        if dir.isLink(name) { return refuseLocalLink(remote, dir, name) }
        let attributes = try sftp.attributes(remote)  // the technician named it: a link here is followed
        if attributes.isDirectory {
            guard recursive else { throw CLIError.remote("\(remote) is a folder; use tandem get -r") }
            try copyFolder(remote, attributes, into: dir, as: name, depth: 0)
        } else {
            try sftp.download(remote, into: dir, as: name, progress: progress)
        }
    }

    /// `depth`: how many folders below the copy's root `dir` lies.
    private func copyEntry(_ remote: String, into dir: LocalDirectory, as name: String, depth: Int) throws {
        if dir.isLink(name) { return refuseLocalLink(remote, dir, name) }
        let attributes = try sftp.attributes(remote, follow: false)
        if attributes.isSymlink {
            let target = try sftp.readlink(remote)
            guard RemoteName.linkStaysInside(target: target, depth: depth) else {
                skip(remote, "it is a link to \(target), outside the folder being copied")
                sftp.reportRefusal(path: remote, reason: "link_outside", detail: target)
                return
            }
            try dir.makeLink(name, target: target)
        } else if attributes.isDirectory {
            try copyFolder(remote, attributes, into: dir, as: name, depth: depth + 1)
        } else {
            try sftp.download(remote, into: dir, as: name, progress: progress)
        }
    }

    private func copyFolder(_ remote: String, _ attributes: SFTPAttributes, into dir: LocalDirectory, as name: String, depth: Int) throws {
        // Only permission bits, and always writable by us, or the copy could not fill it.
        let folder = try dir.subdirectory(name, mode: mode_t((attributes.permissions ?? 0o755) & 0o777) | 0o700)
        for entry in try sftp.list(remote) {
            if let problem = RemoteName.problem(entry.filename) {
                skip(remote + "/" + entry.filename, "the user's machine sent \(problem.words) in this folder")
                continue
            }
            do {
                try copyEntry(remote + "/" + entry.filename, into: folder, as: entry.filename, depth: depth)
            } catch let error as CLIError where sftp.isOpen {
                // One entry that cannot be copied (unreadable, a name too long here) does not stop the rest.
                skip(remote + "/" + entry.filename, error.description)
            }
        }
    }

    private func refuseLocalLink(_ remote: String, _ dir: LocalDirectory, _ name: String) {
        skip(remote, "\(dir.describe(name)) on your side is a symbolic link, and downloads never write through one")
        sftp.reportRefusal(path: remote, reason: "local_link", detail: dir.describe(name))
    }

    private func skip(_ remote: String, _ why: String) {
        skipped += 1
        writeText("tandem: skipped \(TerminalText.escape(remote)): \(TerminalText.escape(why))\n", fd: 2)
    }
}
