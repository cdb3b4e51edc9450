import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The lock that keeps two processes from writing one corpus at once: an advisory `flock`
/// on `<corpus>-lock` beside the file (SQLite's own locks cover one transaction; a run is
/// thousands of them, and two runs interleaving would call every model twice).
///
/// A writer holds it exclusively from open to close; a reader that opens the file as
/// immutable holds it shared, so no writer starts under it. The kernel releases it when the
/// process ends, however it ends, so a crash never leaves a stale lock. Opens within one
/// process share one lock (a test may open a corpus twice).
final class WriterLock: @unchecked Sendable {
    let path: String
    private let descriptor: Int32
    private let key: String

    private nonisolated(unsafe) static var held: [String: (lock: WriterLock, count: Int, exclusive: Bool)] = [:]
    private static let registry = NSLock()

    private init(path: String, descriptor: Int32, key: String) {
        self.path = path
        self.descriptor = descriptor
        self.key = key
    }

    /// The lock file's path for a corpus.
    static func lockPath(forCorpus corpus: String) -> String { corpus + "-lock" }

    /// Takes the exclusive lock, waiting for any other process that holds it; `waiting` is
    /// called once, with who holds it, before waiting.
    static func exclusive(corpus: String, waiting: (String) -> Void) throws -> Handle {
        let path = lockPath(forCorpus: corpus)
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw CorpusError.cannotCreate(path: corpus, reason: "cannot create its lock file \(path): \(String(cString: strerror(errno)))")
        }
        let key = canonical(path)
        if let shared = registry.withLock({ reuse(key, exclusive: true) }) {
            close(descriptor)
            return shared
        }
        if flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            waiting(holder.isEmpty ? "another process" : holder)
            while flock(descriptor, LOCK_EX) != 0 {
                guard errno == EINTR else {
                    close(descriptor)
                    throw CorpusError.cannotOpen(path: corpus, reason: "cannot lock \(path): \(String(cString: strerror(errno)))")
                }
            }
        }
        let owner = "pluralism process \(getpid()) on \(ProcessInfo.processInfo.hostName)\n"
        ftruncate(descriptor, 0)
        _ = owner.withCString { pwrite(descriptor, $0, strlen($0), 0) }
        return register(WriterLock(path: path, descriptor: descriptor, key: key), exclusive: true)
    }

    /// Takes the shared lock if nobody writes: nil when the lock file is absent (no writer
    /// of this tool has been here) or a writer holds it.
    static func sharedIfIdle(corpus: String) -> Handle? {
        let path = lockPath(forCorpus: corpus)
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        let key = canonical(path)
        if let existing = registry.withLock({ held[key] }) {
            close(descriptor)
            // This process writes the corpus itself: not idle.
            return existing.exclusive ? nil : registry.withLock { reuse(key, exclusive: false) }
        }
        guard flock(descriptor, LOCK_SH | LOCK_NB) == 0 else {
            close(descriptor)
            return nil
        }
        return register(WriterLock(path: path, descriptor: descriptor, key: key), exclusive: false)
    }

    /// Whether this process holds the exclusive lock of `corpus`.
    static func isHeldExclusively(corpus: String) -> Bool {
        let key = canonical(lockPath(forCorpus: corpus))
        return registry.withLock { held[key]?.exclusive ?? false }
    }

    /// One open's claim on the lock; the last claim released closes the file (and so
    /// releases the lock).
    final class Handle: @unchecked Sendable {
        let lock: WriterLock
        init(_ lock: WriterLock) { self.lock = lock }
        deinit { WriterLock.release(lock.key) }
    }

    private static func register(_ lock: WriterLock, exclusive: Bool) -> Handle {
        registry.withLock { held[lock.key] = (lock, 1, exclusive) }
        return Handle(lock)
    }

    private static func reuse(_ key: String, exclusive: Bool) -> Handle? {
        guard let entry = held[key] else { return nil }
        held[key] = (entry.lock, entry.count + 1, entry.exclusive)
        return Handle(entry.lock)
    }

    private static func release(_ key: String) {
        registry.withLock {
            guard let entry = held[key] else { return }
            if entry.count > 1 {
                held[key] = (entry.lock, entry.count - 1, entry.exclusive)
            } else {
                held[key] = nil
                close(entry.lock.descriptor)
            }
        }
    }

    private static func canonical(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
