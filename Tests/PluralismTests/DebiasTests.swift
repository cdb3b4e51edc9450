import Corpus
import Foundation
import Testing
@testable import Pluralism

/// Order debiasing end to end: scripted models with a known position or content preference,
/// through the whole pipeline.
@Suite struct DebiasTests {
    /// Prefers letters by position only, and steeply: A 8, B 4, C 2, the rest 1 (every
    /// read from log-probabilities, selections and answers alike).
    static func firstPositionModel() -> ScriptedModel {
        ScriptedModel { request in
            guard request.topLogprobs > 0 else { return nil }
            let count = ScriptedModel.letteredLines(request).count
            return ScriptedModel.choice((0..<count).map { [8.0, 4, 2][safe: $0] ?? 1 })
        }
    }

    /// Prefers "Disagree" and right's comment or expert by content (3 to 1), and letter A
    /// by position (4 to 1): a single read in an order that puts another candidate first
    /// follows the position. Its comments name their community.
    static func contentModel() -> ScriptedModel {
        ScriptedModel { request in
            guard request.topLogprobs > 0 else {
                let system = request.messages.first?.content ?? ""
                guard let range = system.range(of: #"You speak for the (\w+) community"#, options: .regularExpression) else { return nil }
                return ScriptedModel.text("comment by \(system[range].split(separator: " ")[4]).")
            }
            let lines = ScriptedModel.letteredLines(request)
            return ScriptedModel.choice(lines.enumerated().map { position, line in
                (line == "Disagree" || line.contains("right") ? 3.0 : 1) * (position == 0 ? 4 : 1)
            })
        }
    }

    private func run(_ inputs: RunInputs, _ model: ScriptedModel) async throws -> (Corpus, String) {
        let corpus = try PipelineFixture.temporaryCorpus()
        let summary = try await Pipeline.run(PipelineFixture.context(inputs, corpus: corpus, model: model))
        return (corpus, summary.runID)
    }

    @Test func aFirstPositionModelIsExactlyOrderFreeAfterDebiasing() async throws {
        let (corpus, runID) = try await run(PipelineFixture.inputs(), Self.firstPositionModel())
        var answers: [Int] = []
        for synthesis in try corpus.syntheses(runID: runID) {
            if let option = synthesis.answerOption {
                let final = try #require(try corpus.distributions(runID: runID, itemID: synthesis.itemID, method: synthesis.method)
                    .first { $0.community == "" })
                // Every option got the same multiset of probabilities: bit-identical means.
                #expect(Set(final.probabilities).count == 1, "\(synthesis.itemID) \(synthesis.method): \(final.probabilities)")
                let tie = try #require(synthesis.answerTieJSON)
                let options = final.probabilities.indices.map(String.init).joined(separator: ",")
                #expect(tie == #"{"drawn":\#(option),"tied":[\#(options)]}"#)
                answers.append(option)
            }
            if synthesis.selectionJSON != nil {
                let selection = try StageTests.StoredSelection(synthesis)
                #expect(Set(selection.probabilities).count == 1)
                #expect(selection.tie?.tied == selection.candidates)
                #expect(selection.tie?.drawn == synthesis.selectedCommunity)
                // The parts still show the bias that was removed: each put 8/14 on its first position.
                for rotation in selection.rotations where selection.candidates.count == 3 {
                    let probabilities = try #require(rotation.probabilities)
                    #expect(abs(probabilities[rotation.order[0]] - 8.0 / 14) < 1e-12)
                }
            }
        }
        #expect(answers.count == 12)
        // The draws are seeded per item and method, not the first by position.
        #expect(Set(answers).count > 1)
    }

    @Test func withoutRotationsTheFirstPositionModelAlwaysChoosesTheFirst() async throws {
        let inputs = PipelineFixture.inputs(config: { $0.debias = DebiasSettings(rotations: .none) })
        let (corpus, runID) = try await run(inputs, Self.firstPositionModel())
        let syntheses = try corpus.syntheses(runID: runID)
        #expect(syntheses.compactMap(\.answerOption).allSatisfy { $0 == 0 })
        let selected = syntheses.filter { $0.selectionJSON != nil }
        #expect(selected.count == 8)
        #expect(selected.allSatisfy { ["left", "asia"].contains($0.selectedCommunity) })
        #expect(syntheses.allSatisfy { $0.answerTieJSON == nil })
    }

    @Test func aContentModelKeepsItsChoiceWhateverTheOrder() async throws {
        // The options of st2 and the perspective communities, in their own order and reversed.
        var reversed = PipelineFixture.items
        let st2 = reversed.firstIndex { $0.id == "st2" }!
        reversed[st2].options.reverse()
        reversed[st2].gold = 2
        var chosen: [String: Set<String>] = [:]
        var singleOrder: [String: Set<String>] = [:]
        for (perspectives, items) in [(["left", "center", "right"], PipelineFixture.items), (["right", "center", "left"], reversed)] {
            for rotations in [DebiasSettings.Rotations.all, .none] {
                let inputs = PipelineFixture.inputs(config: { config in
                    config = PipelineFixture.config(perspectives: perspectives)
                    config.debias = DebiasSettings(rotations: rotations)
                }, items: items)
                let (corpus, runID) = try await run(inputs, Self.contentModel())
                for synthesis in try corpus.syntheses(runID: runID) where ["st1", "st2"].contains(synthesis.itemID) {
                    let key = "\(synthesis.itemID) \(synthesis.method)"
                    let choice = synthesis.answerOption.map { _ in String(synthesis.text.dropFirst(3)) } ?? synthesis.selectedCommunity ?? ""
                    if rotations == .all { chosen[key, default: []].insert(choice) } else { singleOrder[key, default: []].insert(choice) }
                    if rotations == .all, synthesis.method != "vanilla", synthesis.method != "prompting" {
                        #expect(synthesis.selectedCommunity == "right", "\(key)")
                    }
                }
            }
        }
        // Debiased: one choice per item and method whatever the order, and it is the content's.
        #expect(chosen.values.allSatisfy { $0.count == 1 })
        #expect(chosen["st2 vanilla"] == ["Disagree"])
        #expect(chosen["st2 steerable"] == ["Disagree"])
        // A single read follows the position instead: reordering changes what it picks.
        #expect(singleOrder["st2 vanilla"] == ["Agree", "Unsure"])
        #expect(singleOrder["st1 moe"] == ["left", "right"])
    }

    @Test func theAuditReportsTheShareOfChoicesAtEachPositionBeforeAndAfter() async throws {
        let (corpus, runID) = try await run(PipelineFixture.inputs(), Self.firstPositionModel())
        let summaries = try corpus.auditSummaries(runID: runID)
        func summary(_ method: String, _ metric: String, _ subject: String) -> AuditSummaryRecord? {
            summaries.first { $0.method == method && $0.metric == metric && $0.subject == subject }
        }
        for method in ["vanilla", "prompting", "moe"] {
            // st2 (3 options), di1 (3), di2 (2).
            let before = try #require(summary(method, "answer_position_before", "A"))
            #expect(before.value == 1 && before.count == 3)
            #expect(abs(before.baseline! - (1.0 / 3 + 1.0 / 3 + 1.0 / 2) / 3) < 1e-12)
            #expect(summary(method, "answer_position_before", "B")?.value == 0)
            let presented = try #require(summary(method, "answer_position_presented", "A"))
            #expect(presented.value == 1 && presented.count == 3 + 3 + 2)
            // After: the seeded draws among the tied options, at their own positions.
            let drawn = try corpus.syntheses(runID: runID).filter { $0.method == method }.compactMap(\.answerOption)
            let after = try #require(summary(method, "answer_position_after", "A"))
            #expect(after.count == 3 && after.value == Double(drawn.filter { $0 == 0 }.count) / 3)
        }
        let selections = try #require(summary("moe", "selection_position_before", "1"))
        #expect(selections.value == 1 && selections.count == 6)
        #expect(summary("moe", "selection_position_presented", "1")?.count == 3 + 2 + 3 + 3 + 3 + 2)
        #expect(summary("steerable", "selection_position_after", "1")?.count == 2)
        // The first rotation's read is as far from gold as the biased model leaves it.
        let js = try #require(summary("distributional", "js_distance_before", ""))
        #expect(js.count == 1 && js.baseline != nil)

        let report = try OrderBiasReport(corpus: corpus, runID: runID)
        let vanilla = try #require(report.methods.first { $0.method == "vanilla" })
        #expect(vanilla.answer[.before]?.shares.first == 1)
        #expect(vanilla.jsCount == 1)
        // di1's gold [0.7, 0.2, 0.1]: the debiased answer is uniform, the first read leans on A.
        #expect(abs(vanilla.jsAfter! - vanilla.jsUniform!) < 1e-12)
        #expect(vanilla.jsBefore! < vanilla.jsAfter!)
    }

    @Test func overtonPassagesFollowASeededPermutationOrTheConfig() async throws {
        for passages in DebiasSettings.Passages.allCases {
            let inputs = PipelineFixture.inputs(config: { $0.debias.passages = passages })
            let (corpus, runID) = try await run(inputs, StageTests.partisanModel())
            for item in ["ov1", "ov2"] {
                let synthesis = try #require(try corpus.syntheses(runID: runID, itemID: item).first { $0.method == "overton" })
                let pool = item == "ov1" ? ["left", "center", "right"] : ["asia", "europe"]
                let order = passages == .config ? Array(pool.indices)
                    : Rotations.seededPermutation(count: pool.count, seed: CallSeed.derive(runSeed: 7, itemID: item, purpose: "overton.passages"))
                #expect(synthesis.passages == order.map { pool[$0] })
                let call = try #require(try corpus.archivedCall(key: synthesis.callKeys[0]))
                let shown = order.enumerated().map { "Passage \($0.offset + 1): comment by \(pool[$0.element])." }
                #expect(call.requestJSON.contains(shown.joined(separator: "\\n\\n")))
            }
        }
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
