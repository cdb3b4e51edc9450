import Corpus
import Foundation
import Testing
@testable import Pluralism

@Suite struct PipelineTests {
    @Test func twoFreshRunsGiveTheSameDigestWhateverTheBatchSize() async throws {
        var digests: [String] = []
        for batchSize in [1, 4, 9] {
            let corpus = try PipelineFixture.temporaryCorpus()
            let model = ScriptedModel()
            let context = PipelineFixture.context(PipelineFixture.inputs(), corpus: corpus, model: model, batchSize: batchSize)
            let summary = try await Pipeline.run(context)
            #expect(summary.comments == PipelineFixture.commentCount)
            #expect(summary.syntheses == PipelineFixture.synthesisCount)
            #expect(model.calls == PipelineFixture.fullRunCalls)
            // The batch size no longer chunks model calls: each model gets all of a stage's
            // calls and answers them `capacity` at a time.
            #expect(model.batches.allSatisfy { $0 <= model.capacity })
            digests.append(try corpus.digest(runID: summary.runID))
        }
        #expect(Set(digests).count == 1)
    }

    @Test func aSecondRunOverTheSameCorpusMakesNoModelCall() async throws {
        let corpus = try PipelineFixture.temporaryCorpus()
        let model = ScriptedModel()
        let first = try await Pipeline.run(PipelineFixture.context(PipelineFixture.inputs(), corpus: corpus, model: model))
        #expect(first.freshCalls == PipelineFixture.fullRunCalls)
        let digest = try corpus.digest(runID: first.runID)

        let second = try await Pipeline.run(PipelineFixture.context(PipelineFixture.inputs(), corpus: corpus, model: model))
        #expect(second.runID == first.runID)
        #expect(second.freshCalls == 0)
        #expect(second.replayedCalls == 0)
        #expect(model.calls == PipelineFixture.fullRunCalls)
        #expect(second.stages.allSatisfy { $0.written == 0 })
        #expect(try corpus.digest(runID: second.runID) == digest)
        #expect(try corpus.runs().count == 1)
        #expect(try corpus.run(id: first.runID)?.status == .finished)
    }

    @Test func anInterruptedRunResumesWithNothingLostOrDuplicated() async throws {
        let reference = try PipelineFixture.temporaryCorpus()
        let uninterrupted = try await Pipeline.run(
            PipelineFixture.context(PipelineFixture.inputs(), corpus: reference, model: ScriptedModel()))

        let corpus = try PipelineFixture.temporaryCorpus()
        let model = ScriptedModel(failAfter: 10)
        // Fails in the comment stage, after one chunk of the model's capacity (8).
        await #expect(throws: ScriptedFailure.self) {
            try await Pipeline.run(PipelineFixture.context(PipelineFixture.inputs(), corpus: corpus, model: model))
        }
        let runID = uninterrupted.runID
        #expect(try corpus.comments(runID: runID).count == 8)
        #expect(try corpus.run(id: runID)?.status == .failed)

        // Fails in the synthesis stage, after one chunk of the first wave (both Overton
        // answers and the steerable selections), before the steerable answers.
        model.failAfter(PipelineFixture.commentCount + 8)
        await #expect(throws: ScriptedFailure.self) {
            try await Pipeline.run(PipelineFixture.context(PipelineFixture.inputs(), corpus: corpus, model: model))
        }
        #expect(try corpus.comments(runID: runID).count == PipelineFixture.commentCount)
        let partial = try corpus.syntheses(runID: runID).count
        #expect(partial > 0 && partial < PipelineFixture.synthesisCount)

        model.failAfter(nil)
        let resumed = try await Pipeline.run(PipelineFixture.context(PipelineFixture.inputs(), corpus: corpus, model: model))
        #expect(resumed.runID == runID)
        #expect(model.calls == PipelineFixture.fullRunCalls)
        #expect(try corpus.archivedCallCount() == PipelineFixture.fullRunCalls)
        #expect(try corpus.comments(runID: runID).count == PipelineFixture.commentCount)
        #expect(try corpus.syntheses(runID: runID).count == PipelineFixture.synthesisCount)
        #expect(try corpus.digest(runID: runID) == reference.digest(runID: runID))
        #expect(try corpus.run(id: runID)?.status == .finished)
    }

    @Test func addingACommunityCallsOnlyForWhatDependsOnIt() async throws {
        let corpus = try PipelineFixture.temporaryCorpus()
        // Chooses by content (right's comment, right's expert), so the newcomer changes no
        // choice and every answer after a selection replays.
        let model = StageTests.partisanModel()
        let before = try await Pipeline.run(PipelineFixture.context(PipelineFixture.inputs(), corpus: corpus, model: model))

        let after = try await Pipeline.run(
            PipelineFixture.context(PipelineFixture.inputs(extraCommunity: "libertarian"), corpus: corpus, model: model))
        #expect(after.runID != before.runID)
        #expect(try corpus.runs().count == 2)
        // Fresh: the newcomer's comment on the 4 perspective items; the Overton synthesis of
        // ov1; the steerable selections of st1 and st2 in 4 rotations each (their answers
        // replay: the same comment is chosen); di1's 3 option rotations with the newcomer's
        // comment; the MoE selections of the 4 perspective items in 4 rotations each (answers
        // replay, same expert chosen).
        let comments = try #require(after.stages.first { $0.stage == "comment" })
        #expect(comments.freshCalls == 4)
        #expect(comments.replayedCalls == PipelineFixture.commentCount)
        let synthesis = try #require(after.stages.first { $0.stage == "synthesize" })
        #expect(synthesis.freshCalls == 1 + 2 * 4 + 3 + 4 * 4)
        #expect(after.freshCalls == 4 + 28)
        #expect(model.calls == PipelineFixture.fullRunCalls + 32)
        #expect(after.comments == PipelineFixture.commentCount + 4)
        #expect(after.syntheses == PipelineFixture.synthesisCount)
        // The newcomer now weighs in di1's mix.
        let rows = try corpus.distributions(runID: after.runID, itemID: "di1", method: "distributional")
        #expect(rows.map(\.community).sorted() == ["", "center", "left", "libertarian", "right"])
    }

    @Test func replayOnlyFailsOnAMissAndReplaysAStoredRun() async throws {
        let corpus = try PipelineFixture.temporaryCorpus()
        let model = ScriptedModel()
        await #expect(throws: ArchiveMiss.self) {
            try await Pipeline.run(PipelineFixture.context(PipelineFixture.inputs(), corpus: corpus, model: model, replayOnly: true))
        }
        #expect(model.calls == 0)
        #expect(try corpus.archivedCallCount() == 0)

        let original = try await Pipeline.run(PipelineFixture.context(PipelineFixture.inputs(), corpus: corpus, model: model))
        // A renamed run is a new run whose every call is in the archive.
        let replayed = try await Pipeline.run(
            PipelineFixture.context(PipelineFixture.inputs(name: "renamed"), corpus: corpus, model: model, replayOnly: true))
        #expect(replayed.freshCalls == 0)
        #expect(replayed.replayedCalls == PipelineFixture.fullRunCalls)
        #expect(model.calls == PipelineFixture.fullRunCalls)
        #expect(replayed.syntheses == PipelineFixture.synthesisCount)
        // The digest covers content, not the run's name or id.
        #expect(try corpus.digest(runID: replayed.runID) == corpus.digest(runID: original.runID))
    }

    @Test func runIdentityFollowsConfigInputsAndToolVersion() {
        let inputs = PipelineFixture.inputs()
        let id = RunIdentity.id(config: inputs.config, fileHashes: inputs.fileHashes)
        #expect(id.count == 16)
        #expect(id == RunIdentity.id(config: PipelineFixture.inputs().config, fileHashes: inputs.fileHashes))
        #expect(id != RunIdentity.id(config: PipelineFixture.config(extraCommunity: "x"), fileHashes: inputs.fileHashes))
        var hashes = inputs.fileHashes
        hashes["overton.jsonl"] = "2222"
        #expect(id != RunIdentity.id(config: inputs.config, fileHashes: hashes))
        #expect(id != RunIdentity.id(config: inputs.config, fileHashes: inputs.fileHashes, toolVersion: "other"))
    }

    @Test func exportWritesOneRecordPerItem() async throws {
        let corpus = try PipelineFixture.temporaryCorpus()
        let summary = try await Pipeline.run(PipelineFixture.context(PipelineFixture.inputs(), corpus: corpus, model: ScriptedModel()))
        var lines: [String] = []
        let count = try Export.jsonl(corpus: corpus, runID: summary.runID) { lines.append($0) }
        #expect(count == PipelineFixture.items.count)
        #expect(lines.count == count)
        let records = try lines.map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        let di1 = try #require(records.first { ($0["item"] as? [String: Any])?["id"] as? String == "di1" })
        #expect((di1["comments"] as? [Any])?.count == 3)
        let syntheses = try #require(di1["syntheses"] as? [String: Any])
        #expect(Set(syntheses.keys) == ["distributional", "vanilla", "prompting", "moe"])
        let distributional = try #require(syntheses["distributional"] as? [String: Any])
        #expect((distributional["distributions"] as? [Any])?.count == 4)
        #expect(distributional["answer_option"] != nil)
        // The audit stage's rows travel with their item.
        let audits = try #require(di1["audits"] as? [[String: Any]])
        #expect(audits.count == (try corpus.audits(runID: summary.runID, itemID: "di1").count))
        let js = try #require(audits.first { $0["metric"] as? String == "js_distance" && $0["method"] as? String == "distributional" })
        #expect((js["evidence"] as? [String: Any])?["gold"] as? [Double] == [0.7, 0.2, 0.1])
        let ov1 = try #require(records.first { ($0["item"] as? [String: Any])?["id"] as? String == "ov1" })
        #expect((ov1["audits"] as? [Any])?.isEmpty == false)
        let ov1Syntheses = try #require(ov1["syntheses"] as? [String: Any])
        let moe = try #require(ov1Syntheses["moe"] as? [String: Any])
        let stored = try #require(try corpus.syntheses(runID: summary.runID, itemID: "ov1").first { $0.method == "moe" })
        #expect(moe["selected_community"] as? String == stored.selectedCommunity)
        #expect(moe["selection_parsed"] as? Bool == true)
        // How the selection was read travels with it: the method, every rotation, the passage.
        #expect(moe["selection_method"] as? String == "logprobs")
        let selection = try #require(moe["selection"] as? [String: Any])
        #expect(selection["candidates"] as? [String] == ["left", "center", "right"])
        #expect((selection["rotations"] as? [Any])?.count == 3)
        #expect(moe["passages"] as? [String] == [try #require(stored.selectedCommunity)])
        let overton = try #require(ov1Syntheses["overton"] as? [String: Any])
        #expect((overton["passages"] as? [String])?.sorted() == ["center", "left", "right"])
        // Each distribution carries its rotations.
        let final = try #require((distributional["distributions"] as? [[String: Any]])?.last)
        #expect((final["rotations"] as? [[String: Any]])?.map { $0["offset"] as? Int } == [0, 1, 2])
    }
}
