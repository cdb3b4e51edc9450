import Corpus
import Foundation
import Testing
@testable import Pluralism

@Suite struct StageTests {
    /// A model that chooses by content: its comments name their community; its selections
    /// (read from log-probabilities, or parsed from a reply naming a number) favour whatever
    /// mentions `favourite`; its multiple-choice reads favour the option a passage's community
    /// holds (left: Agree / Very / Yes; center: Disagree / Somewhat / No; right: Unsure /
    /// Not at all; others: no preference), wherever the option is shown.
    static func partisanModel(favourite: String = "right", textSelection: (@Sendable (Int?) -> ModelResponse)? = nil) -> ScriptedModel {
        ScriptedModel { request in
            let system = request.messages.first?.content ?? ""
            let user = request.messages.last?.content ?? ""
            let isSelection = user.contains("Comments:") || user.contains("Which of these experts")
            if request.topLogprobs > 0 {
                let lines = ScriptedModel.letteredLines(request)
                if isSelection { return ScriptedModel.choice(lines.map { $0.contains(favourite) ? 8 : 1 }) }
                for (community, favoured) in [("left", ["Agree", "Very", "Yes"]), ("center", ["Disagree", "Somewhat", "No"]),
                                              ("right", ["Unsure", "Not at all"])]
                where user.contains("Helpful passage: comment by \(community).") {
                    return ScriptedModel.choice(lines.map { favoured.contains($0) ? 8 : 1 })
                }
                return nil
            }
            if isSelection {
                let numbered = ScriptedModel.numberedLines(request)
                let position = numbered.firstIndex { $0.contains(favourite) }.map { $0 + 1 }
                return textSelection?(position) ?? ScriptedModel.text(position.map { "Comment \($0) fits best." } ?? "None.")
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

    /// The stored selection, decoded.
    struct StoredSelection: Decodable {
        struct Rotation: Decodable {
            var offset: Int
            var order: [Int]
            var probabilities: [Double]?
            var reply: String
            var evidence: String?
            var basis: String?
            var truncated: Bool?
        }
        struct Tie: Decodable {
            var tied: [String]
            var drawn: String
        }
        var candidates: [String]
        var probabilities: [Double]
        var rotations: [Rotation]
        var tie: Tie?

        init(_ synthesis: SynthesisRecord) throws {
            self = try JSONDecoder().decode(Self.self, from: Data(try #require(synthesis.selectionJSON).utf8))
        }
    }

    @Test func selectionsAreReadFromLogprobsInEveryRotation() async throws {
        let corpus = try PipelineFixture.temporaryCorpus()
        let summary = try await Pipeline.run(PipelineFixture.context(PipelineFixture.inputs(), corpus: corpus, model: Self.partisanModel()))
        for method in ["steerable", "moe"] {
            let synthesis = try #require(try corpus.syntheses(runID: summary.runID, itemID: "st1").first { $0.method == method })
            #expect(synthesis.selectionMethod == .logprobs)
            #expect(synthesis.selectionParsed == true)
            #expect(synthesis.selectedCommunity == "right")
            #expect(synthesis.passages == ["right"])
            let selection = try StoredSelection(synthesis)
            #expect(selection.candidates == ["left", "center", "right"])
            #expect(selection.rotations.map(\.offset) == [0, 1, 2])
            #expect(selection.rotations.map(\.order) == [[0, 1, 2], [1, 2, 0], [2, 0, 1]])
            // Every rotation, mapped back to the candidates' order, favours right: 8 of 10 parts.
            for rotation in selection.rotations {
                let probabilities = try #require(rotation.probabilities)
                #expect(abs(probabilities[2] - 0.8) < 1e-9 && abs(probabilities[0] - 0.1) < 1e-9)
            }
            #expect(selection.tie == nil)
            #expect(synthesis.callKeys.count == 3 + 1)
            let answer = try #require(try corpus.archivedCall(key: synthesis.callKeys[3]))
            #expect(answer.requestJSON.contains("Helpful passage: comment by right."))
            // The selection prompts letter the candidates and end where the letter goes.
            let first = try #require(try corpus.archivedCall(key: synthesis.callKeys[0]))
            #expect(first.requestJSON.contains("Reply with one letter (A to C) and nothing else."))
            #expect(first.requestJSON.contains(#""max_tokens":1"#) && first.requestJSON.contains(#""top_logprobs":20"#))
        }
        // The multiple-choice steerable item reads a distribution in every rotation of its
        // options: right's comment favours "Unsure" wherever it is shown.
        let st2 = try #require(try corpus.syntheses(runID: summary.runID, itemID: "st2").first { $0.method == "steerable" })
        #expect(st2.answerOption == 2)
        #expect(st2.text == "C. Unsure")
        #expect(st2.answerTieJSON == nil)
        let rows = try corpus.distributions(runID: summary.runID, itemID: "st2", method: "steerable")
        #expect(rows.count == 1)
        #expect(rows.first?.community == "")
        #expect(rows.first?.fallback == false)
        #expect(zip(rows[0].probabilities, [0.1, 0.1, 0.8]).allSatisfy { abs($0 - $1) < 1e-9 })
        #expect(rows[0].rotationsJSON.contains(#""offset":2,"order":[2,0,1]"#))
    }

    /// The fixture's open items, with a base model that gives no log-probabilities.
    private func textOnlyInputs(labels: Bool = false) -> RunInputs {
        PipelineFixture.inputs(config: { config in
            config.baseModel = ModelSpec(backend: "embedded", logprobs: false)
            config.methods = [.steerable, .moe]
            if labels {
                for index in config.communities.indices {
                    config.communities[index].label = config.communities[index].name.capitalized + " camp"
                }
            }
        }, items: PipelineFixture.items.filter { $0.options.isEmpty })
    }

    @Test func withoutLogprobsSelectionsAreParsedInEveryRotation() async throws {
        let corpus = try PipelineFixture.temporaryCorpus()
        let summary = try await Pipeline.run(PipelineFixture.context(textOnlyInputs(), corpus: corpus, model: Self.partisanModel()))
        for method in ["steerable", "moe"] {
            let synthesis = try #require(try corpus.syntheses(runID: summary.runID, itemID: "st1").first { $0.method == method })
            #expect(synthesis.selectionMethod == .parsed)
            #expect(synthesis.selectedCommunity == "right")
            let selection = try StoredSelection(synthesis)
            #expect(selection.probabilities == [0, 0, 1])
            // Right is shown third, then second, then first: each reply names its position.
            #expect(selection.rotations.map(\.evidence) == ["Comment 3", "Comment 2", "Comment 1"])
            #expect(selection.rotations.allSatisfy { $0.basis == "number" && $0.truncated == false })
            let first = try #require(try corpus.archivedCall(key: synthesis.callKeys[0]))
            #expect(first.requestJSON.contains("1. ") && first.requestJSON.contains("(1 to 3) and nothing else."))
        }
    }

    @Test func aReplyThatNamesACommunityIsReadByItsName() async throws {
        let corpus = try PipelineFixture.temporaryCorpus()
        // Always "1." and the label of right's camp: the name wins over the number.
        let model = Self.partisanModel(textSelection: { _ in ScriptedModel.text("1. Right camp, because they weigh it best.") })
        let summary = try await Pipeline.run(PipelineFixture.context(textOnlyInputs(labels: true), corpus: corpus, model: model))
        #expect(try corpus.communities(runID: summary.runID).map(\.label) == ["Left camp", "Center camp", "Right camp", "Asia camp", "Europe camp"])
        let moe = try #require(try corpus.syntheses(runID: summary.runID, itemID: "st1").first { $0.method == "moe" })
        #expect(moe.selectedCommunity == "right")
        let selection = try StoredSelection(moe)
        // Where right is listed first, the line is its own entry echoed in place and the
        // number 1 reads it; elsewhere its name does.
        #expect(selection.rotations.map(\.basis) == ["name", "name", "number"])
        #expect(selection.rotations.map(\.evidence) == ["Right camp", "Right camp", "1"])
        let first = try #require(try corpus.archivedCall(key: moe.callKeys[0]))
        #expect(first.requestJSON.contains("1. Left camp: People who see things the left way."))
        // Steerable comments are anonymous: the same reply reads as comment 1, a position
        // alone, which the rotations spread over every candidate.
        let steerable = try #require(try corpus.syntheses(runID: summary.runID, itemID: "st1").first { $0.method == "steerable" })
        #expect(try StoredSelection(steerable).probabilities.allSatisfy { abs($0 - 1.0 / 3) < 1e-15 })
    }

    @Test func aSelectionNothingCouldBeReadFromIsASeededDrawNotTheFirstCandidate() async throws {
        let replies: [(String, ModelResponse.FinishReason)] = [
            ("I cannot decide.", .stop),
            // A list cut off at the token cap, an echo of the comments, a number from the cut.
            ("1. The first view.\n2. The second", .length),
            ("comment by center. comment by right. comment by left.", .stop),
            ("The best is 2", .length),
        ]
        var drawn: Set<String> = []
        for (reply, finish) in replies {
            let corpus = try PipelineFixture.temporaryCorpus()
            let model = Self.partisanModel(textSelection: { _ in ScriptedModel.text(reply, finishReason: finish) })
            let summary = try await Pipeline.run(PipelineFixture.context(textOnlyInputs(), corpus: corpus, model: model))
            for synthesis in try corpus.syntheses(runID: summary.runID) {
                #expect(synthesis.selectionMethod == .fallback, "\(reply)")
                #expect(synthesis.selectionParsed == false)
                let selection = try StoredSelection(synthesis)
                let count = Double(selection.candidates.count)
                #expect(selection.probabilities.allSatisfy { $0 == 1 / count })
                #expect(selection.rotations.allSatisfy { $0.probabilities == nil })
                let tie = try #require(selection.tie)
                #expect(tie.tied == selection.candidates && tie.drawn == synthesis.selectedCommunity)
                drawn.insert("\(synthesis.itemID) \(synthesis.method) \(tie.drawn)")
            }
        }
        // The draw is seeded by what it is for, not by position: the same item and method draw
        // the same community whatever the reply, and different items draw different ones.
        #expect(drawn.count == 4)  // st1 steerable; ov1, ov2, st1 moe
        #expect(Set(drawn.map { $0.split(separator: " ")[2] }).count > 1)
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
        #expect(synthesis.callKeys.count == 3 * 3)
        // The mix's rotations are the per-rotation mixes of the parts (here all equal, the
        // model reading by content).
        let rotations = try #require(try JSONSerialization.jsonObject(with: Data(mixed.rotationsJSON.utf8)) as? [[String: Any]])
        #expect(rotations.map { $0["offset"] as? Int } == [0, 1, 2])
        for rotation in rotations {
            let probabilities = try #require(rotation["probabilities"] as? [Double])
            #expect(zip(probabilities, expected).allSatisfy { abs($0 - $1) < 1e-9 })
        }

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
