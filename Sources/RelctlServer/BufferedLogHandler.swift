import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// `relctl serve`'s log handler: the lines swift-log's `StreamLogHandler` writes, in the same format
/// (`<time> <level> <label>: key=value … [<source>] <message>`), but not one locked, flushed `write(2)`
/// per line: with a line per request, that is a system call on every request's path. Lines go into a
/// buffer that a thread of its own writes out 20 ms after the first, or at once for a warning or worse,
/// and on `flush()` (the server calls it when it stops) and at exit. A kill -9 can lose the last 20 ms
/// of info lines; nothing the registry keeps is a log line.
public struct BufferedLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let output: BufferedLogOutput

    public init(label: String, level: Logger.Level, output: BufferedLogOutput = .standardError) {
        self.label = label
        self.logLevel = level
        self.output = output
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get(), !provided.isEmpty {
            merged.merge(provided) { _, provided in provided }
        }
        if let explicit = event.metadata, !explicit.isEmpty {
            merged.merge(explicit) { _, explicit in explicit }
        }
        if let error = event.error {
            merged["error.message"] = "\(error)"
            merged["error.type"] = "\(String(reflecting: type(of: error)))"
        }
        var line = output.timestamp()
        line += " \(event.level)"
        if !label.isEmpty { line += " " + label }
        line += ":"
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) { line += " \(key)=\(value)" }
        line += " [\(event.source)] \(event.message)\n"
        output.append(line, now: event.level >= .warning)
    }
}

/// Where `BufferedLogHandler`s write: a file descriptor (standard error) behind one buffer.
public final class BufferedLogOutput: @unchecked Sendable {
    public static let standardError = BufferedLogOutput(descriptor: 2)

    private let descriptor: Int32
    /// Guards the buffer; the writer thread waits on it while there is nothing to write (no idle wake-ups).
    private let lock = NSCondition()
    /// Held while lines are taken from the buffer and written, so flushes never interleave.
    private let writing = NSLock()
    private var pending: [UInt8] = []
    private var writerStarted = false
    /// The last second a timestamp was made for, and its text (the time zone is looked up once a second).
    private var stamp: (second: time_t, text: String) = (-1, "")

    init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    /// `StreamLogHandler`'s timestamp: local time to the second with its offset.
    func timestamp() -> String {
        var now = time(nil)
        if let cached = lock.withLock({ stamp.second == now ? stamp.text : nil }) { return cached }
        var parts = tm()
        localtime_r(&now, &parts)
        var buffer = [Int8](repeating: 0, count: 64)
        strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        lock.withLock { stamp = (now, text) }
        return text
    }

    func append(_ line: String, now: Bool) {
        let startWriter: Bool = lock.withLock {
            if pending.isEmpty { lock.signal() }
            pending.append(contentsOf: line.utf8)
            defer { writerStarted = true }
            return !writerStarted
        }
        if startWriter {
            // What is still buffered when the process exits normally is written then.
            if descriptor == 2 { atexit { BufferedLogOutput.standardError.flush() } }
            let thread = Thread { [self] in
                while true {
                    lock.withLock {
                        while pending.isEmpty { lock.wait() }
                    }
                    // Lines that come within the next 20 ms go out in the same write.
                    Thread.sleep(forTimeInterval: 0.02)
                    flush()
                }
            }
            thread.name = "relctl-log"
            thread.start()
        }
        if now { flush() }
    }

    /// Writes out every buffered line, in order.
    public func flush() {
        writing.lock()
        defer { writing.unlock() }
        let bytes: [UInt8] = lock.withLock {
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let count = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if count <= 0 {
                    if count < 0 && errno == EINTR { continue }
                    return
                }
                offset += count
            }
        }
    }
}
