import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Whole runs through the binary against the scripted model server: the default corpus
/// path, replay without a server, Ctrl-C and SIGTERM then resume, two runs on one corpus.
@Suite(.serialized) struct RunLifecycleTests {
    static func digest(_ corpus: String, in scratch: Scratch) throws -> String {
        let result = try CLI.run(["corpus", "digest", corpus], in: scratch.path)
        #expect(result.status == 0, "\(result.stderr)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func status(_ corpus: String, in scratch: Scratch) throws -> String {
        let result = try CLI.run(["corpus", "runs", corpus], in: scratch.path)
        let row = result.stdout.split(separator: "\n").dropFirst().first.map { $0.split(separator: "\t") } ?? []
        return row.count > 2 ? String(row[2]) : "?"
    }

    /// Waits until the server has answered `count` requests.
    static func waitForRequests(_ server: ScriptedServer, atLeast count: Int) throws {
        let deadline = Date().addingTimeInterval(60)
        while server.requests < count {
            guard Date() < deadline else { throw ScriptedServer.ServerError(message: "the run made no requests") }
            usleep(20_000)
        }
    }

    @Test func aRunGoesToTheDefaultCorpusAndReplaysWithoutTheServer() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let server = try ScriptedServer(in: scratch)
        try server.writeConfig(into: scratch)
        let first = try CLI.run(["run", "--config", "inputs/run.json", "--no-report", "--quiet"], in: scratch.path)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(scratch.exists("runs/cli/corpus.sqlite"))
        #expect(try Self.status("runs/cli/corpus.sqlite", in: scratch) == "finished")
        let digest = try Self.digest("runs/cli/corpus.sqlite", in: scratch)
        let calls = server.requests
        #expect(calls > 10)
        server.stop()

        let replay = try CLI.run(["run", "--config", "inputs/run.json", "--replay-only", "--no-report", "--quiet"], in: scratch.path)
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(replay.stdout.contains("model calls: 0 fresh"))
        #expect(try Self.digest("runs/cli/corpus.sqlite", in: scratch) == digest)
    }

    /// `comment` on its own, stopped by Ctrl-C: the run is marked `interrupted` (not left
    /// `running`), and the same command finishes the comments.
    @Test func aStageStoppedOnItsOwnMarksTheRunInterrupted() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        // Answers take 2 s, so the signal lands while the comments are in flight however
        // busy the machine is.
        let slow = try ScriptedServer(in: scratch, delay: 2)
        try slow.writeConfig(into: scratch, folder: "slow")
        let command = ["comment", "--config", "slow/run.json", "--corpus", "stage.sqlite", "--quiet"]
        let running = try CLI.start(command, in: scratch.path)
        try Self.waitForRequests(slow, atLeast: 1)
        kill(running.pid, SIGINT)
        let stopped = running.finish()
        #expect(stopped.status == 130, "\(stopped.stderr)")
        #expect(try Self.status("stage.sqlite", in: scratch) == "interrupted")

        let resumed = try CLI.run(command, in: scratch.path)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("already stored"), "\(resumed.stdout)")
    }

    @Test(arguments: [(SIGINT, Int32(130)), (SIGTERM, Int32(143))])
    func aSignalStopsTheRunWhichResumesToTheSameDigest(_ signal: Int32, _ expected: Int32) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let slow = try ScriptedServer(in: scratch, delay: 0.1)
        try slow.writeConfig(into: scratch, folder: "slow")
        let whole = try CLI.run(["run", "--config", "slow/run.json", "--corpus", "whole.sqlite", "--no-report", "--quiet"], in: scratch.path)
        #expect(whole.status == 0, "\(whole.stderr)")
        let expectedDigest = try Self.digest("whole.sqlite", in: scratch)
        let calls = slow.requests
        let before = calls

        let running = try CLI.start(["run", "--config", "slow/run.json", "--corpus", "stopped.sqlite", "--no-report", "--quiet"],
                                                in: scratch.path)
        try Self.waitForRequests(slow, atLeast: before + 4)
        kill(running.pid, signal)
        let stopped = running.finish()
        #expect(stopped.status == expected, "\(stopped.stderr)")
        #expect(stopped.stderr.contains("resume with: pluralism run --config slow/run.json --corpus stopped.sqlite"))
        #expect(try Self.status("stopped.sqlite", in: scratch) == "interrupted")
        let made = slow.requests - before
        #expect(made < calls, "the run stopped before doing everything")

        let resumed = try CLI.run(["run", "--config", "slow/run.json", "--corpus", "stopped.sqlite", "--no-report", "--quiet"], in: scratch.path)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try Self.status("stopped.sqlite", in: scratch) == "finished")
        #expect(try Self.digest("stopped.sqlite", in: scratch) == expectedDigest)
        #expect(try CLI.run(["corpus", "digest", "stopped.sqlite"], in: scratch.path).status == 0)
    }

    @Test func aSecondCtrlCStopsAtOnceAndLosesNothing() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let server = try ScriptedServer(in: scratch, delay: 0.3)
        try server.writeConfig(into: scratch)
        let running = try CLI.start(["run", "--config", "inputs/run.json", "--corpus", "c.sqlite", "--no-report", "--quiet"],
                                                in: scratch.path)
        try Self.waitForRequests(server, atLeast: 3)
        kill(running.pid, SIGINT)
        usleep(50_000)
        kill(running.pid, SIGINT)
        let stopped = running.finish()
        #expect(stopped.status == 130)
        #expect(stopped.stderr.contains("stopping at once"))
        let resumed = try CLI.run(["run", "--config", "inputs/run.json", "--corpus", "c.sqlite", "--no-report", "--quiet"], in: scratch.path)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try Self.status("c.sqlite", in: scratch) == "finished")
    }

    @Test func twoRunsOnOneCorpusNeverCallTheModelsTwice() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let server = try ScriptedServer(in: scratch, delay: 0.02)
        try server.writeConfig(into: scratch)
        let alone = try CLI.run(["run", "--config", "inputs/run.json", "--corpus", "alone.sqlite", "--no-report", "--quiet"], in: scratch.path)
        #expect(alone.status == 0)
        let calls = server.requests
        let digest = try Self.digest("alone.sqlite", in: scratch)

        let arguments = ["run", "--config", "inputs/run.json", "--corpus", "shared.sqlite", "--no-report", "--quiet"]
        let first = try CLI.start(arguments, in: scratch.path)
        try Self.waitForRequests(server, atLeast: calls + 1)
        let second = try CLI.start(arguments, in: scratch.path)
        let results = [first.finish(), second.finish()]
        #expect(results.map(\.status) == [0, 0], "\(results.map(\.stderr))")
        #expect(results[1].stderr.contains("is being written by pluralism process \(first.pid)"))
        #expect(server.requests - calls == calls, "every call made once")
        #expect(results[1].stdout.contains("model calls: 0 fresh"))
        #expect(try Self.digest("shared.sqlite", in: scratch) == digest)
    }
}
