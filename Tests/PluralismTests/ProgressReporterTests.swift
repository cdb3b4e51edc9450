import Foundation
import Testing
@testable import Pluralism

/// A clock and an output the tests control.
private final class Terminal: @unchecked Sendable {
    let lock = NSLock()
    var output = ""
    var time = 100.0
    func write(_ s: String) { lock.lock(); output += s; lock.unlock() }
    func now() -> Double { lock.lock(); defer { lock.unlock() }; return time }
}

@Suite struct ProgressReporterTests {
    @Test func drawsCountRateAndTimeLeft() {
        let terminal = Terminal()
        let progress = ProgressReporter(label: "comment", total: 120, enabled: true,
                                        write: terminal.write, now: terminal.now)
        terminal.time += 60
        progress.advance(by: 30)
        #expect(terminal.output == "\rcomment  30/120  30.0 items/min  ETA 3m00s")
        terminal.time += 0.05
        progress.advance()  // within 0.1 s of the last draw: no redraw
        #expect(!terminal.output.contains("31/120"))
        terminal.time += 120
        progress.advance(by: 89)
        progress.finish()
        #expect(terminal.output.hasSuffix("\rcomment  120/120  40.0 items/min  in 3m00s\n"))
        progress.finish()
        #expect(terminal.output.filter { $0 == "\n" }.count == 1)
    }

    @Test func quietOrNotATerminalDrawsNothing() {
        let terminal = Terminal()
        let progress = ProgressReporter(label: "x", total: 2, enabled: false, write: terminal.write, now: terminal.now)
        progress.advance()
        progress.finish()
        #expect(terminal.output.isEmpty)
        // Under `swift test` stderr is not a terminal, so the public initialiser stays silent too.
        ProgressReporter(label: "x", total: 1, quiet: true).finish()
    }

    @Test func concurrentAdvancesAreAllCounted() async {
        let terminal = Terminal()
        let progress = ProgressReporter(label: "n", total: 1000, enabled: true, write: terminal.write, now: terminal.now)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<10 { group.addTask { for _ in 0..<100 { progress.advance() } } }
        }
        #expect(terminal.output.hasSuffix("1000/1000"))
    }

    @Test func durations() {
        #expect(ProgressReporter.duration(44.6) == "45s")
        #expect(ProgressReporter.duration(1200) == "20m00s")
        #expect(ProgressReporter.duration(3900) == "1h05m")
    }
}
