import Foundation

/// A run-wide request to stop, set from a signal handler (Ctrl-C, SIGTERM) and read by the
/// stages between units of work: a stage calls `check()` before each batch, so what is
/// committed stays committed and the run ends at a batch boundary. Anything that schedules
/// work (a streaming scheduler) should stop taking new work once `isRequested` is true.
public final class StopSignal: @unchecked Sendable {
    /// Why the run was asked to stop.
    public enum Reason: Sendable, Equatable {
        /// SIGINT (Ctrl-C).
        case interrupt
        /// SIGTERM (a scheduler or `kill`).
        case terminate

        /// The conventional exit status of a process stopped by the signal: 128 + its number.
        public var exitStatus: Int32 { self == .interrupt ? 130 : 143 }
        public var signalName: String { self == .interrupt ? "SIGINT" : "SIGTERM" }
    }

    private let lock = NSLock()
    private var requested: Reason?

    public init() {}

    /// Asks the run to stop; the first reason given is kept.
    public func request(_ reason: Reason) {
        lock.withLock { if requested == nil { requested = reason } }
    }

    /// The reason, once a stop was requested.
    public var reason: Reason? { lock.withLock { requested } }

    public var isRequested: Bool { reason != nil }

    /// Throws `RunStopped` once a stop was requested; stages call it between units of work.
    public func check() throws {
        if let reason { throw RunStopped(reason: reason) }
    }
}

/// A run stopped on request after committing every finished unit of work; running the same
/// command again resumes it.
public struct RunStopped: Error, CustomStringConvertible, Sendable, Equatable {
    public var reason: StopSignal.Reason

    public var description: String { "stopped by \(reason.signalName); everything finished before it is stored" }
}
