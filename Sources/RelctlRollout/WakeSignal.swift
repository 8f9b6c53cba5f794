import Foundation
import RelctlSystem

#if canImport(Glibc)
    import Glibc
#endif

/// Cross-process wake-ups between engines sharing a data directory: every listening controller
/// binds a Unix datagram socket in `<data-dir>/wake/`; a process that changed a deployment sends
/// one byte to each. A listener that is gone (its socket refuses) is removed. Best effort: polling
/// stays the fallback, so a lost datagram only delays a controller to its next interval.
struct WakeSignal: Sendable {
    let folder: URL
    private let folderPath: String
    private let listing = Listing()

    init(directory: URL) {
        folder = directory.appendingPathComponent("wake", isDirectory: true)
        folderPath = folder.path
    }

    func notifyAll() {
        let sockets = listing.sockets(in: folderPath)
        guard !sockets.isEmpty else { return }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var byte: UInt8 = 1
        for (path, address) in sockets {
            var address = address
            let sent = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, &byte, 1, Int32(MSG_DONTWAIT), $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            if sent < 0 && (errno == ECONNREFUSED || errno == ENOENT) { unlink(path) }
        }
    }

    /// The folder's sockets, listed again only when the folder changed: every alias move wakes the
    /// others, and listing the folder each time was a good part of a rollback. A change shows in the
    /// folder's mtime, which the kernel keeps at clock-tick (not nanosecond) grain, so a listing is
    /// trusted only once it was made well after the mtime it saw.
    final class Listing: @unchecked Sendable {
        private let lock = NSLock()
        private var seen: (mtime: [Int64], listedAt: Double, sockets: [(String, sockaddr_un)])?

        func sockets(in folder: String) -> [(String, sockaddr_un)] {
            guard let status = FileStatus.of(path: folder) else { return [] }
            let mtime = [status.modifiedSeconds, status.modifiedNanoseconds]
            let mtimeSeconds = Double(mtime[0]) + Double(mtime[1]) / 1e9
            if let seen = lock.withLock({ seen }), seen.mtime == mtime, seen.listedAt - mtimeSeconds > 0.1 {
                return seen.sockets
            }
            let listedAt = Date().timeIntervalSince1970
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            let sockets = names.filter { $0.hasSuffix(".sock") }.compactMap { name -> (String, sockaddr_un)? in
                let path = folder + "/" + name
                return WakeSignal.address(path).map { (path, $0) }
            }
            lock.withLock { seen = (mtime, listedAt, sockets) }
            return sockets
        }
    }

    static func address(_ path: String) -> sockaddr_un? {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in bytes.enumerated() { buffer[index] = byte }
            buffer[bytes.count] = 0
        }
        return address
    }
}

/// A controller's end of `WakeSignal`: `wait(timeout:)` returns early when another process
/// signals. A thread of its own blocks in `recv`; waiters are resumed from there.
public final class WakeListener: @unchecked Sendable {
    private let fd: Int32
    private let path: String
    private let lock = NSLock()
    private var pending = false
    private var closed = false
    private var waiters: [UUID: CheckedContinuation<Bool, Never>] = [:]
    private var timers: [UUID: Task<Void, Never>] = [:]

    /// nil when the socket cannot be made (the path is too long for a Unix socket, say): the
    /// controller then only polls.
    public init?(directory: URL) {
        let folder = WakeSignal(directory: directory).folder
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        path = folder.appendingPathComponent("\(getpid())-\(UUID().uuidString.prefix(8)).sock").path
        guard var address = WakeSignal.address(path) else { return nil }
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else {
            Glibc.close(fd)
            return nil
        }
        // recv wakes up every half second to notice `close()`.
        var timeout = timeval(tv_sec: 0, tv_usec: 500_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let thread = Thread { [self] in receive() }
        thread.name = "relctl-wake"
        thread.start()
    }

    private func receive() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while !lock.withLock({ closed }) {
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count > 0 else { continue }
            let woken: [CheckedContinuation<Bool, Never>] = lock.withLock {
                let list = Array(waiters.values)
                waiters.removeAll()
                timers.values.forEach { $0.cancel() }
                timers.removeAll()
                if list.isEmpty { pending = true }
                return list
            }
            woken.forEach { $0.resume(returning: true) }
        }
        Foundation.close(fd)
    }

    /// Waits until a signal arrives (true) or `timeout` seconds pass (false). A signal that came
    /// while nobody waited is kept for the next wait.
    /// Cancelling the waiting task ends the wait at once (false).
    public func wait(timeout: Double) async -> Bool {
        let id = UUID()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let early: Bool = lock.withLock {
                    if Task.isCancelled { return true }
                    if pending || closed {
                        pending = false
                        return true
                    }
                    waiters[id] = continuation
                    timers[id] = Task {
                        try? await Task.sleep(nanoseconds: UInt64(max(0, timeout) * 1_000_000_000))
                        let waiter = self.lock.withLock { () -> CheckedContinuation<Bool, Never>? in
                            self.timers[id] = nil
                            return self.waiters.removeValue(forKey: id)
                        }
                        waiter?.resume(returning: false)
                    }
                    return false
                }
                if early { continuation.resume(returning: true) }
            }
        } onCancel: {
            let waiter = lock.withLock { () -> CheckedContinuation<Bool, Never>? in
                timers.removeValue(forKey: id)?.cancel()
                return waiters.removeValue(forKey: id)
            }
            waiter?.resume(returning: false)
        }
    }

    /// Stops listening and removes the socket (the receiving thread ends within half a second).
    public func close() {
        let woken: [CheckedContinuation<Bool, Never>] = lock.withLock {
            guard !closed else { return [] }
            closed = true
            let list = Array(waiters.values)
            waiters.removeAll()
            timers.values.forEach { $0.cancel() }
            timers.removeAll()
            return list
        }
        unlink(path)
        woken.forEach { $0.resume(returning: true) }
    }

    deinit {
        close()
    }
}
