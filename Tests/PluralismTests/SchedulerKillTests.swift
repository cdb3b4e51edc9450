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

    @Test(.enabled(if: binaryIsBuilt, "needs the built CLI: swift build -c release -Xswiftc -enable-testing"))
    func killedAtRandomMomentsAndResumedGivesTheUninterruptedDigest() async throws {
        let server = try LoopbackServer(latency: 0.04, handler: ScriptedChatCompletions.reply)
        defer { server.stop() }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pluralism-kill-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let config = try Self.writeInputs(to: folder + "/inputs", server: server)

        let began = Date()
        let whole = try Self.launch(config: config, corpus: folder + "/whole.sqlite")
        whole.waitUntilExit()
        let duration = Date().timeIntervalSince(began)
        #expect(whole.terminationStatus == 0)
        let calls = try Corpus.open(path: folder + "/whole.sqlite", readOnly: true).archivedCallCount()
        let reference = try Self.digest(folder + "/whole.sqlite")

        // Kill moments from a fixed seed, 5% to 45% of an uninterrupted run's time as measured
        // here (one call at a time, 40 ms each; commits come every second): kills land mid-run
        // however loaded or idle the machine is, and no two attempts can finish the run.
        var state: UInt64 = 20261130
        var killed = 0
        var partial = 0
        for _ in 0..<12 {
            state = splitMix64(state)
            let delay = duration * (0.05 + 0.40 * Double(state % 1000) / 1000)
            let attempt = try Self.launch(config: config, corpus: folder + "/killed.sqlite")
            try await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
            guard attempt.isRunning else {
                attempt.waitUntilExit()
                #expect(attempt.terminationStatus == 0)
                continue
            }
            kill(attempt.processIdentifier, SIGKILL)
            attempt.waitUntilExit()
            #expect(attempt.terminationReason == .uncaughtSignal)
            killed += 1
            let stored = try Corpus.open(path: folder + "/killed.sqlite").archivedCallCount()
            if stored > 0 && stored < calls { partial += 1 }
        }
        let last = try Self.launch(config: config, corpus: folder + "/killed.sqlite")
        last.waitUntilExit()
        #expect(last.terminationStatus == 0)
        #expect(killed >= 3, "only \(killed) attempts were still running when killed")
        #expect(partial >= 2, "only \(partial) kills left part of the run stored")
        #expect(try Self.digest(folder + "/killed.sqlite") == reference)
        // Calls lost with a kill are asked again; never more than the calls in flight and
        // the last second's answers per kill, and the corpus holds each call once.
        let killedCorpus = try Corpus.open(path: folder + "/killed.sqlite", readOnly: true)
        #expect(try killedCorpus.archivedCallCount() == calls)
    }
}
