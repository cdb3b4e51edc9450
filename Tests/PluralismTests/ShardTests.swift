import Corpus
import Foundation
import Testing
@testable import Pluralism

@Suite struct ShardTests {
    @Test func shardsAreReadAsKOfN() throws {
        let shard = try Shard(parsing: "2/8")
        #expect(shard.index == 2 && shard.count == 8)
        #expect(shard.description == "2/8")
        for bad in ["0/3", "4/3", "1/0", "a/b", "3", "1/2/3", "", "-1/2"] {
            #expect(throws: ShardError.self, "\(bad)") { try Shard(parsing: bad) }
        }
    }

    @Test func everyItemFallsInExactlyOneShard() throws {
        let ids = (0..<300).map { "item-\($0)" }
        let shards = try (1...5).map { try Shard(index: $0, count: 5) }
        var sizes = [0, 0, 0, 0, 0]
        for id in ids {
            let owners = shards.filter { $0.contains(itemID: id) }
            #expect(owners.count == 1)
            sizes[owners[0].index - 1] += 1
        }
        // A hash spreads 300 ids over 5 shards; none is empty or holds most of them.
        #expect(sizes.allSatisfy { $0 > 30 && $0 < 100 }, "\(sizes)")
        // One shard is the whole run.
        #expect(ids.allSatisfy { try! Shard(index: 1, count: 1).contains(itemID: $0) })
    }

    static func folder() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("pluralism-shards-\(UUID().uuidString)").path
    }

    static func shardContext(_ path: String, _ shard: Shard?, model: any LanguageModel,
                             inputs: RunInputs = PipelineFixture.inputs()) throws -> StageContext {
        StageContext(inputs: inputs, corpus: try Corpus.open(path: path), options: StageOptions(shard: shard),
                     models: { _ in model }, embedder: { WordEmbedder() })
    }

    /// The fixture run split 3 ways, each shard in its own corpus, merged: the merged run
    /// holds the unsharded run's digest, and after the audit on the merged corpus (which
    /// calls no model) the audited digest too.
    @Test func threeShardsMergeIntoTheUnshardedRun() async throws {
        let folder = Self.folder()
        let reference = try PipelineFixture.temporaryCorpus()
        let referenceContext = PipelineFixture.context(PipelineFixture.inputs(), corpus: reference, model: ScriptedModel())
        try Stages.ingest(referenceContext.inputs, into: reference)
        _ = try await Stages.comment(referenceContext)
        _ = try await Stages.synthesize(referenceContext)
        let runID = referenceContext.runID
        let unaudited = try reference.digest(runID: runID)
        _ = try await Stages.audit(referenceContext)
        let audited = try reference.digest(runID: runID)

        var paths: [String] = []
        var calls = 0
        var shardItems = 0
        for index in 1...3 {
            let path = "\(folder)/shard-\(index).sqlite"
            let model = ScriptedModel()
            let context = try Self.shardContext(path, try Shard(index: index, count: 3), model: model)
            let summary = try await Pipeline.run(context)
            #expect(summary.stages.map(\.stage) == ["comment", "synthesize"])
            shardItems += context.workItems.count
            calls += model.calls
            paths.append(path)
        }
        #expect(shardItems == PipelineFixture.items.count)
        #expect(calls == PipelineFixture.fullRunCalls)

        let merged = "\(folder)/merged.sqlite"
        let report = try Corpus.merge(paths, into: merged)
        #expect(report.runID == runID)
        #expect(report.inputs.map { $0.added["comment"] ?? 0 }.reduce(0, +) == PipelineFixture.commentCount)
        let corpus = try Corpus.open(path: merged)
        #expect(try corpus.digest(runID: runID) == unaudited)
        #expect(try corpus.archivedCallCount() == PipelineFixture.fullRunCalls)
        #expect(try corpus.run(id: runID)?.status == .running)

        // The whole pipeline on the merged corpus replays everything and audits the run.
        let finishing = ScriptedModel()
        let summary = try await Pipeline.run(PipelineFixture.context(PipelineFixture.inputs(), corpus: corpus, model: finishing,
                                                                     replayOnly: true))
        #expect(finishing.calls == 0)
        #expect(summary.stages.map(\.stage) == ["comment", "synthesize", "audit"])
        #expect(try corpus.digest(runID: runID) == audited)
        #expect(try corpus.run(id: runID)?.status == .finished)
    }

    @Test func corporaOfDifferentRunsAreNotMerged() async throws {
        let folder = Self.folder()
        let first = "\(folder)/a.sqlite", second = "\(folder)/b.sqlite"
        _ = try await Pipeline.run(try Self.shardContext(first, try Shard(index: 1, count: 2), model: ScriptedModel()))
        _ = try await Pipeline.run(try Self.shardContext(second, try Shard(index: 2, count: 2), model: ScriptedModel(),
                                                         inputs: PipelineFixture.inputs(name: "renamed")))
        let output = "\(folder)/merged.sqlite"
        do {
            _ = try Corpus.merge([first, second], into: output)
            Issue.record("corpora of different runs must not merge")
        } catch let error as CorpusMergeError {
            guard case .differentRuns(let runs) = error else { Issue.record("\(error)"); return }
            #expect(runs.map(\.path) == [first, second])
            #expect(error.description.contains("not shards of one run"))
        }
        #expect(!FileManager.default.fileExists(atPath: output))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
            .filter { !$0.hasSuffix("-wal") && !$0.hasSuffix("-shm") && !$0.hasSuffix("-lock") } == ["a.sqlite", "b.sqlite"])
    }

    /// Two shards that answered the same call differently (a server that is not
    /// deterministic) conflict: every differing row is listed and nothing is written.
    @Test func conflictingContentIsReportedAndNothingIsWritten() async throws {
        let folder = Self.folder()
        let first = "\(folder)/a.sqlite", second = "\(folder)/b.sqlite"
        _ = try await Pipeline.run(try Self.shardContext(first, try Shard(index: 1, count: 2), model: ScriptedModel()))
        let other = ScriptedModel(answer: { request in
            request.topLogprobs == 0 && !ScriptedModel.isSelection(request) ? ScriptedModel.text("something else") : nil
        })
        _ = try await Pipeline.run(try Self.shardContext(second, try Shard(index: 1, count: 2), model: other))
        let output = "\(folder)/merged.sqlite"
        do {
            _ = try Corpus.merge([first, second], into: output)
            Issue.record("conflicting shards must not merge")
        } catch let error as CorpusMergeError {
            guard case .conflicts(let conflicts) = error else { Issue.record("\(error)"); return }
            #expect(Set(conflicts.map(\.table)).isSuperset(of: ["call", "comment"]))
            #expect(conflicts.allSatisfy { $0.path == second })
            let comment = try #require(conflicts.first { $0.table == "comment" })
            #expect(comment.columns == ["text"])
        }
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    @Test func mergeNeverOverwritesACorpus() async throws {
        let folder = Self.folder()
        let shard = "\(folder)/a.sqlite"
        _ = try await Pipeline.run(try Self.shardContext(shard, try Shard(index: 1, count: 2), model: ScriptedModel()))
        let existing = "\(folder)/existing.sqlite"
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: existing))
        #expect(throws: CorpusMergeError.self) { try Corpus.merge([shard], into: existing) }
        #expect(try String(contentsOfFile: existing, encoding: .utf8) == "keep me")
    }
}
