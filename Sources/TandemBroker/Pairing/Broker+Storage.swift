import Foundation
import Glibc
import TandemAudit
import TandemCore
import TandemStore

// MARK: - Storage trouble: fail closed, keep the broker up, refuse new sessions until space returns

extension Broker {
    /// Makes the reserve file (start, and when space returns); false when there is no room for it.
    @discardableResult
    public func ensureStorageReserve() -> Bool {
        let path = config.reservePath
        var st = stat()
        if stat(path, &st) == 0 && Int(st.st_size) >= config.storageReserveBytes { return true }
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard posix_fallocate(fd, 0, off_t(config.storageReserveBytes)) == 0, fsync(fd) == 0 else {
            _ = ftruncate(fd, 0)
            return false
        }
        return true
    }

    /// The disk is full: release the reserve so sessions can still be closed on record, and say so once.
    func enterStorageTrouble(_ why: String) {
        guard storageTrouble == nil else { return }
        storageTrouble = why
        unlink(config.reservePath)
        logger.critical("broker storage full (\(why)): sessions that cannot be recorded end, new sessions are refused until space is freed in \(config.dataDirectory)")
        record(StorageFull(detail: why), ticket: nil, session: nil, actor: "broker")
    }

    /// Why a new session cannot start now, or nil. Space that came back (room for the reserve
    /// and as much again) ends the trouble.
    func storageRefusal() -> String? {
        guard storageTrouble != nil else { return nil }
        var fs = statvfs()
        let free = statvfs(config.dataDirectory, &fs) == 0 ? Int(fs.f_bavail) * Int(fs.f_frsize) : 0
        if free >= config.storageReserveBytes * 2 && ensureStorageReserve() {
            storageTrouble = nil
            logger.notice("broker storage has room again: new sessions are accepted")
            record(StorageRecovered(freeBytes: free), ticket: nil, session: nil, actor: "broker")
            return nil
        }
        return "broker storage full: the broker cannot record new sessions until its operator frees space; try again later"
    }

    /// A recording or capture of session `id` could not be written.
    public func recordingFailed(_ id: SessionID, _ failure: RecordingFailure) {
        logger.error("session \(id) cannot be recorded: \(failure)", metadata: about(id))
        if failure.isStorage { enterStorageTrouble(failure.description) }
        switch config.onRecordingFailure {
        case .endSession:
            end(id, reason: failure.endReason, actor: "broker")
        case .continueUnrecorded:
            // A session already on record as ended takes no more events; its channel's end says the recording is incomplete.
            guard let s = live[id], s.pendingEnd == nil else { return }
            record(RecordingFailed(reason: failure.endReason, policy: "continue"), ticket: s.record.ticketID, session: id, actor: "broker")
        }
    }

    /// An event could not be stored: the same rule as a recording, for the session it belonged to.
    func eventFailed(_ event: Event, _ error: StoreError) {
        logger.critical("could not record event \(event.kind) for session \(event.sessionID ?? "-"): \(error)")
        if case .full(let why) = error { enterStorageTrouble("database: \(why)") }
        guard let session = event.sessionID.map(SessionID.init(rawValue:)), config.onRecordingFailure == .endSession else { return }
        end(session, reason: error.isFull ? RecordingFailure.storageFull("").endReason : RecordingFailure.io("").endReason, actor: "broker")
    }
}
