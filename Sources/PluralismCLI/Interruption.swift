import Dispatch
import Foundation
import Pluralism

/// Ctrl-C and SIGTERM during a run: the first asks the run to stop after its current batch
/// (what is finished is committed, the run is marked `interrupted`, the command exits 130 or
/// 143 and says how to resume); a second one stops at once. Every write is a transaction, so
/// even then nothing committed is lost: the unfinished batch is simply not stored.
enum Interruption {
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []
    private static let stop = StopSignal()
    private static let lock = NSLock()

    /// Installs the handlers (once per process) and returns the run-wide stop signal.
    static func install() -> StopSignal {
        lock.withLock {
            guard sources.isEmpty else { return }
            for (number, reason) in [(SIGINT, StopSignal.Reason.interrupt), (SIGTERM, .terminate)] {
                signal(number, SIG_IGN)  // delivered to the dispatch source instead
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler {
                    if let first = stop.reason {
                        note("\n\(reason.signalName) again: stopping at once (work not yet committed is redone on resume)")
                        exit(first.exitStatus)
                    }
                    stop.request(reason)
                    note("\n\(reason.signalName): stopping after the current batch and storing what is done "
                         + "(\(reason == .interrupt ? "Ctrl-C" : "SIGTERM") again to stop at once)")
                }
                source.resume()
                sources.append(source)
            }
        }
        return stop
    }

    /// The command as typed, for the "resume with" line (words with spaces or quotes quoted).
    static var commandLine: String {
        CommandLine.arguments.enumerated().map { index, word in
            let shown = index == 0 ? "pluralism" : word
            guard shown.isEmpty || shown.contains(where: { " '\"$\\`*?".contains($0) }) else { return shown }
            return "'" + shown.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }.joined(separator: " ")
    }
}
