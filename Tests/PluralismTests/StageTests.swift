import Corpus
import Foundation
import Testing
@testable import Pluralism

@Suite struct StageTests {
    /// A model whose comments name their community, and whose multiple-choice reads lean
    /// towards the option a passage's community favours (left → A, center → B, right → C,
    /// others uniform).
    static func partisanModel(selectionReply: String = "2") -> ScriptedModel {
        ScriptedModel(selectionReply: selectionReply) { request in
            let system = request.messages.first?.content ?? ""
            let user = request.messages.last?.content ?? ""
            if request.topLogprobs > 0 {
                for (community, favoured) in [("left", 0), ("center", 1), ("right", 2)]
                where user.contains("Helpful passage: comment by \(community).") {
                    var weights = [1.0, 1.0, 1.0]
                    weights[favoured] = 8
                    return ScriptedModel.choice(weights)
                }
                return nil
            }
            if let range = system.range(of: #"You speak for the (\w+) community"#, options: .regularExpression) {
                let name = system[range].split(separator: " ")[4]
                return ScriptedModel.text("comment by \(name).")
            }
            return nil
        }
    }

    @Test func ingestStoresTheManifestOnce() throws {
        let corpus = try PipelineFixture.temporaryCorpus()
        let inputs = PipelineFixture.inputs()
        let run = try Stages.ingest(inputs, into: corpus)
        #expect(run.configJSON == inputs.config.canonicalJSON)
        #expect(run.inputHashes == inputs.fileHashes)
        #expect(run.toolVersion == PipelineVersion.current)
        #expect(run.seed == 7)
        #expect(try corpus.items(runID: run.id).map(\.id) == PipelineFixture.items.map(\.id))
        #expect(try corpus.communities(runID: run.id).map(\.name) == ["left", "center", "right", "asia", "europe"])
        #expect(try Stages.ingest(inputs, into: corpus) == run)
        #expect(try corpus.runs().count == 1)
    }

    @Test func stagesAfterIngestNeedTheRunAndItsComments() async throws {
        let corpus = try PipelineFixture.temporaryCorpus()
        let context = PipelineFixture.context(PipelineFixture.inputs(), corpus: corpus, model: ScriptedModel())
        await #expect(throws: StageError.self) { try await Stages.comment(context) }
        try Stages.ingest(context.inputs, into: corpus)
        do {
            _ = try await Stages.synthesize(context)
            Issue.record("synthesis without comments must fail")
        } catch let error as StageError {
            #expect(error.description.contains("pluralism comment"))
        }
    }

    @Test func commentsCarryTheCommunityVoiceAndADerivedSeed() async throws {
        let corpus = try PipelineFixture.temporaryCorpus()
        let model = Self.partisanModel()
        let context = PipelineFixture.context(PipelineFixture.inputs(), corpus: corpus, model: model)
        try Stages.ingest(context.inputs, into: corpus)
        let report = try await Stages.comment(context)
        #expect(report.written == PipelineFixture.commentCount)
        let comments = try corpus.comments(runID: context.runID, itemID: "ov1")
        #expect(comments.map(\.text).sorted() == ["comment by center.", "comment by left.", "comment by right."])
        let call = try #require(try corpus.archivedCall(key: comments[0].callKey))
        #expect(call.requestJSON.contains("We, the"))
        let seed = CallSeed.derive(runSeed: 7, itemID: "ov1", purpose: "comment/\(comments[0].community)")
        #expect(call.requestJSON.contains("\"seed\":\(seed)"))
        #expect(call.requestJSON.contains("\"temperature\":1,\"top_k\":0,\"top_p\":0.9"))

        let again = try await Stages.comment(context)
        #expect(again.written == 0)
        #expect(again.alreadyDone == PipelineFixture.commentCount)
    }

    @Test func seedsDependOnlyOnWhatTheCallIsFor() {
        let a = CallSeed.derive(runSeed: 7, itemID: "ov1", purpose: "comment/left")
        #expect(a == CallSeed.derive(runSeed: 7, itemID: "ov1", purpose: "comment/left"))
        #expect(a != CallSeed.derive(runSeed: 8, itemID: "ov1", purpose: "comment/left"))
        #expect(a != CallSeed.derive(runSeed: 7, itemID: "ov2", purpose: "comment/left"))
        #expect(a != CallSeed.derive(runSeed: 7, itemID: "ov1", purpose: "comment/right"))
        #expect(a != CallSeed.derive(runSeed: 7, itemID: "ov1", purpose: "comment/left", sampleIndex: 1))
    }

    @Test func steerableRecordsTheSelectionAndItsFallback() async throws {
        for (reply, parsed, chosen) in [("Comment 3 fits best.", true, "right"), ("I cannot decide.", false, "left")] {
            let corpus = try PipelineFixture.temporaryCorpus()
            let context = PipelineFixture.context(PipelineFixture.inputs(), corpus: corpus, model: Self.partisanModel(selectionReply: reply))
            let summary = try await Pipeline.run(context)
            for method in ["steerable", "moe"] {
                let synthesis = try #require(try corpus.syntheses(runID: summary.runID, itemID: "st1").first { $0.method == method })
                #expect(synthesis.selectionParsed == parsed)
                #expect(synthesis.selectedCommunity == chosen)
                #expect(synthesis.selectionReply == reply)
                #expect(synthesis.callKeys.count == 2)
                let answer = try #require(try corpus.archivedCall(key: synthesis.callKeys[1]))
                #expect(answer.requestJSON.contains("Helpful passage: comment by \(chosen)."))
            }
            // The multiple-choice steerable item reads a distribution from the answer.
            let st2 = try #require(try corpus.syntheses(runID: summary.runID, itemID: "st2").first { $0.method == "steerable" })
            let favoured = ["left": 0, "center": 1, "right": 2][chosen]!
            #expect(st2.answerOption == favoured)
            #expect(st2.text == ["A. Agree", "B. Disagree", "C. Unsure"][favoured])
            let rows = try corpus.distributions(runID: summary.runID, itemID: "st2", method: "steerable")
            #expect(rows.count == 1)
            #expect(rows.first?.community == "")
            #expect(rows.first?.fallback == false)
        }
    }

    @Test func distributionalMixesCommunitiesWithPopulationWeights() async throws {
        let corpus = try PipelineFixture.temporaryCorpus()
        let summary = try await Pipeline.run(PipelineFixture.context(PipelineFixture.inputs(), corpus: corpus, model: Self.partisanModel()))
        let rows = try corpus.distributions(runID: summary.runID, itemID: "di1", method: "distributional")
        let byCommunity = Dictionary(uniqueKeysWithValues: rows.map { ($0.community, $0) })
        #expect(Set(byCommunity.keys) == ["left", "center", "right", ""])
        // left weighs 3, the others 1 (population "left-leaning").
        #expect(abs(byCommunity["left"]!.weight - 0.6) < 1e-12)
        #expect(abs(byCommunity["center"]!.weight - 0.2) < 1e-12)
        #expect(abs(byCommunity["right"]!.weight - 0.2) < 1e-12)
        let left = [0.8, 0.1, 0.1], center = [0.1, 0.8, 0.1], right = [0.1, 0.1, 0.8]
        #expect(zip(byCommunity["left"]!.probabilities, left).allSatisfy { abs($0 - $1) < 1e-9 })
        #expect(abs(byCommunity["left"]!.coveredMass - 0.8) < 1e-9)
        let expected = (0..<3).map { 0.6 * left[$0] + 0.2 * center[$0] + 0.2 * right[$0] }
        let mixed = try #require(byCommunity[""])
        #expect(zip(mixed.probabilities, expected).allSatisfy { abs($0 - $1) < 1e-9 })
        #expect(mixed.weight == 1)
        #expect(mixed.fallback == false)
        let synthesis = try #require(try corpus.syntheses(runID: summary.runID, itemID: "di1").first { $0.method == "distributional" })
        #expect(synthesis.answerOption == 0)
        #expect(synthesis.callKeys.count == 3)

        // di2 names no population: its two communities weigh the same.
        let di2 = try corpus.distributions(runID: summary.runID, itemID: "di2", method: "distributional")
        #expect(di2.filter { $0.community != "" }.allSatisfy { abs($0.weight - 0.5) < 1e-12 })
    }

    @Test func aReplyWithNoOptionLetterIsARecordedFallback() async throws {
        let corpus = try PipelineFixture.temporaryCorpus()
        let model = ScriptedModel { request in
            request.topLogprobs > 0 ? ScriptedModel.text("Well") : nil
        }
        let summary = try await Pipeline.run(PipelineFixture.context(PipelineFixture.inputs(), corpus: corpus, model: model))
        let rows = try corpus.distributions(runID: summary.runID, itemID: "di2", method: "vanilla")
        #expect(rows.count == 1)
        #expect(rows[0].fallback)
        #expect(rows[0].coveredMass == 0)
        #expect(rows[0].probabilities == [0.5, 0.5])
    }
}
