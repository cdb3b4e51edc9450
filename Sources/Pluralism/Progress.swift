import Foundation

/// Items done, rate and time left for long work, drawn on one stderr line.
///
/// It draws only when stderr is a terminal and the caller is not quiet, so logs and pipes
/// stay clean. The line is redrawn in place with a carriage return, at most ten times a
/// second; `finish` draws the final state and ends the line. Safe to call from any thread.
public final class ProgressReporter: @unchecked Sendable {
    public let label: String
    public let total: Int
    private let enabled: Bool
    private let write: @Sendable (String) -> Void
    private let now: @Sendable () -> Double
    private let lock = NSLock()
    private let start: Double
    private var done = 0
    private var lastDraw = -Double.infinity
    private var lastWidth = 0
    private var finished = false

    /// - Parameters:
    ///   - label: what is being counted ("comment", "synthesize overton").
    ///   - total: the number of items expected.
    ///   - quiet: draw nothing (the CLI's `--quiet`).
    public convenience init(label: String, total: Int, quiet: Bool) {
        self.init(
            label: label, total: total, enabled: !quiet && isatty(STDERR_FILENO) == 1,
            write: { text in FileHandle.standardError.write(Data(text.utf8)) },
            now: { ProcessInfo.processInfo.systemUptime })
    }

    /// For tests: where the line goes and what time it is are injected.
    init(label: String, total: Int, enabled: Bool,
         write: @escaping @Sendable (String) -> Void, now: @escaping @Sendable () -> Double) {
        self.label = label
        self.total = total
        self.enabled = enabled
        self.write = write
        self.now = now
        self.start = now()
    }

    /// Counts `count` more items done and redraws the line if a redraw is due.
    public func advance(by count: Int = 1) {
        lock.lock()
        defer { lock.unlock() }
        done += count
        guard enabled, !finished else { return }
        let time = now()
        if time - lastDraw >= 0.1 || done >= total {
            draw(line(at: time, finished: false))
            lastDraw = time
        }
    }

    /// Draws the final count, rate and elapsed time and ends the line. Later calls do nothing.
    public func finish() {
        lock.lock()
        defer { lock.unlock() }
        guard enabled, !finished else { return }
        finished = true
        draw(line(at: now(), finished: true))
        write("\n")
    }

    private func draw(_ text: String) {
        // Pad with spaces so a shorter line fully covers the previous one.
        let padding = String(repeating: " ", count: max(0, lastWidth - text.count))
        lastWidth = text.count
        write("\r" + text + padding)
    }

    func line(at time: Double, finished: Bool) -> String {
        let elapsed = max(time - start, 0)
        var parts = ["\(label)  \(done)/\(total)"]
        if done > 0, elapsed > 0 {
            let perMinute = Double(done) / elapsed * 60
            parts.append(String(format: "%.1f items/min", perMinute))
            if finished {
                parts.append("in " + Self.duration(elapsed))
            } else if total > done {
                parts.append("ETA " + Self.duration(Double(total - done) / perMinute * 60))
            }
        } else if finished {
            parts.append("in " + Self.duration(elapsed))
        }
        return parts.joined(separator: "  ")
    }

    /// "45s", "20m00s", "1h05m": coarse enough to read at a glance.
    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m\(String(format: "%02d", s % 60))s" }
        return "\(s / 3600)h\(String(format: "%02d", (s % 3600) / 60))m"
    }
}
