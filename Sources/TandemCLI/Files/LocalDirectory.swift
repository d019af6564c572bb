import Glibc
import TandemCore

/// A folder on the technician's side that downloads write into by name, never through a link.
///
/// Every operation is relative to the folder's descriptor (`openat`, `mkdirat`, `symlinkat`,
/// `renameat`) and refuses to follow a symbolic link, so no link on this side — one that was
/// there before, or one the download itself made — can lead a write out of the destination.
final class LocalDirectory {
    let fd: Int32
    /// For messages only.
    let path: String

    /// The destination the technician named (a link there is their own choice, so it is followed).
    init(path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw CLIError.local("cannot open the folder \(path): \(String(cString: strerror(errno)))") }
        self.fd = fd
        self.path = path
    }

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    func describe(_ name: String) -> String { path == "." ? name : path + "/" + name }

    /// Whether `name` exists here as a symbolic link (which nothing will write through).
    func isLink(_ name: String) -> Bool {
        var st = stat()
        return fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && (st.st_mode & S_IFMT) == S_IFLNK
    }

    /// The subfolder `name`, made when missing with `mode` (permission bits only).
    func subdirectory(_ name: String, mode: mode_t) throws -> LocalDirectory {
        if mkdirat(fd, name, mode & 0o777) != 0 && errno != EEXIST {
            throw CLIError.local("cannot create \(describe(name)): \(String(cString: strerror(errno)))")
        }
        let sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard sub >= 0 else { throw CLIError.local("cannot open \(describe(name)): \(String(cString: strerror(errno)))") }
        return LocalDirectory(fd: sub, path: describe(name))
    }

    func makeLink(_ name: String, target: String) throws {
        guard symlinkat(target, fd, name) == 0 else {
            throw CLIError.local("cannot create the link \(describe(name)): \(String(cString: strerror(errno)))")
        }
    }

    /// A new, empty file beside `name`, where a download lands until it is complete. Its name is
    /// random and short, so no remote name can be too long for it or collide with it.
    func createTemporary(for name: String, mode: mode_t) throws -> (fd: Int32, name: String) {
        let temporary = ".tandem-part-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let file = openat(fd, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0o777)
        guard file >= 0 else { throw CLIError.local("cannot write \(describe(name)): \(String(cString: strerror(errno)))") }
        return (file, temporary)
    }

    /// Puts the finished temporary file in place of `name` (a rename replaces, it never follows).
    func commit(_ temporary: String, as name: String) throws {
        guard renameat(fd, temporary, fd, name) == 0 else {
            throw CLIError.local("cannot write \(describe(name)): \(String(cString: strerror(errno)))")
        }
    }

    func remove(_ name: String) { _ = unlinkat(fd, name, 0) }
}
