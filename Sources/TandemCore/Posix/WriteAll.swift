import Glibc

/// Writes every byte to `fd`, retrying short writes and EINTR; false on any other error.
@discardableResult
public func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
    writeCounting(fd, bytes).error == nil
}

/// Writes every byte to `fd`, retrying short writes and EINTR; on another error, returns how
/// much was written before it and its errno (a recording hashes exactly what reached the disk).
public func writeCounting(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> (written: Int, error: Int32?) {
    guard let base = bytes.baseAddress else { return (0, nil) }
    var done = 0
    while done < bytes.count {
        let n = write(fd, base + done, bytes.count - done)
        if n < 0 {
            if errno == EINTR { continue }
            return (done, errno)
        }
        done += n
    }
    return (done, nil)
}
