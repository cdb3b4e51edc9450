import Corpus
import Foundation
import Testing
@testable import Pluralism
#if canImport(Glibc)
import Glibc
#endif

/// `kill -9` of the built `pluralism run` at random moments, against the loopback server
/// (scripted answers that depend on the request alone), resumed until it finishes: the
/// corpus ends with the digest of a run that was never interrupted.
@Suite struct SchedulerKillTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let binary = packageRoot + "/.build/release/pluralism"
    static var binaryIsBuilt: Bool { FileManager.default.isExecutableFile(atPath: binary) }

    /// A run of 12 items and 3 communities, every model on the server, audited by the judge
    /// (the base model), so no stage needs a model file.
    static func writeInputs(to folder: String, server: LoopbackServer) throws -> String {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let model = #"{"backend": "openai", "base_url": "\#(server.baseURL)/v1", "model": "loopback", "max_in_flight": 1}"#
        let communities = ["north", "south", "east"].map { name in
            #"{"name": "\#(name)", "description": "People of the \#(name).", "system_prompt": "You speak for the \#(name).", "model": \#(model)}"#
        }
        let config = """
            {"name": "kill-test", "seed": 5,
             "pools": [{"name": "town", "communities": [\(communities.joined(separator: ", "))]}],
             "base_model": \(model),
             "questions": [{"file": "items.jsonl", "pool": "town"}],
             "audit": {"scorer": "judge"}}
            """
        var items: [String] = []
        for n in 1...4 {
            items.append(#"{"id": "ov\#(n)", "mode": "overton", "situation": "The town debates plan number \#(n)."}"#)
            items.append(n % 2 == 0
                ? #"{"id": "st\#(n)", "mode": "steerable", "situation": "Closing road \#(n) on Sundays.", "attribute": "Freedom", "options": ["supports", "opposes", "either"]}"#
                : #"{"id": "st\#(n)", "mode": "steerable", "situation": "Closing road \#(n) on Sundays.", "attribute": "Freedom"}"#)
            items.append(#"{"id": "di\#(n)", "mode": "distributional", "question": "Should the town fund project \#(n)?", "options": ["Yes", "No", "Unsure"]}"#)
        }
        try config.write(toFile: folder + "/run.json", atomically: true, encoding: .utf8)
        try (items.joined(separator: "\n") + "\n").write(toFile: folder + "/items.jsonl", atomically: true, encoding: .utf8)
        return folder + "/run.json"
    }

    static func launch(config: String, corpus: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["run", "--config", config, "--corpus", corpus, "--no-report", "--quiet"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    static func digest(_ path: String) throws -> String {
        let corpus = try Corpus.open(path: path, readOnly: true)
        return try corpus.digest(runID: try #require(try corpus.runs().last).id)
    }

    /// Kills a process from the server's own thread when it receives the request that
    /// reaches a target count: the kill lands by progress, whatever the test's tasks are
    /// doing (on a busy two-core machine a test's sleeping task may wake only after the run
    /// has ended).
    final class Executioner: @unchecked Sendable {
        private let lock = NSLock()
        private var victim: pid_t = 0
        private var countdown = 0

        /// Kill `pid` on the `after`-th request from now.
        func arm(pid: pid_t, after requests: Int) {
            lock.withLock { (victim, countdown) = (pid, requests) }
        }

        func observe() {
            lock.withLock {
                guard victim != 0 else { return }
                countdown -= 1
                if countdown <= 0 {
                    kill(victim, SIGKILL)
                    victim = 0
                }
            }
        }
    }

    @Test(.enabled(if: binaryIsBuilt, "needs the built CLI: swift build -c release -Xswiftc -enable-testing"))
    func killedAtRandomMomentsAndResumedGivesTheUninterruptedDigest() throws {
        let executioner = Executioner()
        let server = try LoopbackServer(latency: 0.04) { path, body in
            executioner.observe()
            return ScriptedChatCompletions.reply(path: path, body: body)
        }
        defer { server.stop() }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pluralism-kill-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let config = try Self.writeInputs(to: folder + "/inputs", server: server)

        let whole = try Self.launch(config: config, corpus: folder + "/whole.sqlite")
        whole.waitUntilExit()
        #expect(whole.terminationStatus == 0)
        let calls = try Corpus.open(path: folder + "/whole.sqlite", readOnly: true).archivedCallCount()
        let reference = try Self.digest(folder + "/whole.sqlite")

        // Each attempt is killed when the server receives a seeded number of its requests
        // (26 to 40: past the first group commit, about a second in, and well short of the
        // end).
        var state: UInt64 = 20261130
        var killed = 0
        var partial = 0
        var stored = 0
        while killed < 6 {
            let remaining = calls - stored
            guard remaining > 50 else { break }
            state = splitMix64(state)
            let target = 26 + Int(state % 15)
            let attempt = try Self.launch(config: config, corpus: folder + "/killed.sqlite")
            executioner.arm(pid: attempt.processIdentifier, after: target)
            attempt.waitUntilExit()
            guard attempt.terminationReason == .uncaughtSignal else {
                Issue.record("an attempt finished before its kill (\(target) of \(remaining) calls left), status \(attempt.terminationStatus)")
                break
            }
            killed += 1
            // A writer's open, which recovers the killed process's log: what the next attempt sees.
            stored = try Corpus.open(path: folder + "/killed.sqlite").archivedCallCount()
            if stored > 0 && stored < calls { partial += 1 }
        }
        executioner.arm(pid: 0, after: 0)
        let last = try Self.launch(config: config, corpus: folder + "/killed.sqlite")
        last.waitUntilExit()
        #expect(last.terminationStatus == 0)
        #expect(killed >= 3, "only \(killed) attempts were killed mid-run (\(calls) calls in the run)")
        #expect(partial >= 2, "only \(partial) kills left part of the run stored")
        #expect(try Self.digest(folder + "/killed.sqlite") == reference)
        // Calls lost with a kill are asked again; never more than the calls in flight and
        // the last second's answers per kill, and the corpus holds each call once.
        let killedCorpus = try Corpus.open(path: folder + "/killed.sqlite", readOnly: true)
        #expect(try killedCorpus.archivedCallCount() == calls)
    }
}
