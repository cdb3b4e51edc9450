import Foundation
import Inference
import Testing
@testable import Pluralism

/// The default thresholds against hand-made pairs (Fixtures/calibration-pairs.json) with the
/// real sentence encoder: paraphrases must clear them, unrelated sentences must not. Pairs on
/// the same topic with the opposite stance are printed, not asserted: cosine similarity
/// cannot tell a claim from its denial, which docs/audit.md states.
@Suite struct AuditCalibrationTests {
    struct Pair: Decodable {
        var premise: String
        var sentence: String
        var supports: Bool
        var kind: String
    }

    struct Pairs: Decodable { var pairs: [Pair] }

    static let pairsPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/calibration-pairs.json").path

    static var encoderAvailable: Bool {
        [ModelStore.sentenceModel, ModelStore.sentenceVocabulary].allSatisfy {
            FileManager.default.fileExists(atPath: ModelStore().path(for: $0))
        }
    }

    @Test(.enabled(if: AuditCalibrationTests.encoderAvailable, "needs all-MiniLM-L6-v2 (fetch it with `pluralism models fetch`)"))
    func defaultThresholdsSeparateParaphrasesFromUnrelatedSentences() async throws {
        let pairs = try JSONDecoder().decode(Pairs.self, from: Data(contentsOf: URL(fileURLWithPath: Self.pairsPath))).pairs
        let scorer = EmbeddingScorer(embedder: try ModelLoader(threads: 2).sentenceEmbedder())
        var scores: [(Pair, Double)] = []
        for pair in pairs {
            scores.append((pair, try await scorer.support(premises: [pair.premise], hypotheses: [pair.sentence])[0][0]))
        }
        let thresholds = AuditSettings.Thresholds.embedding
        for (pair, score) in scores {
            print(String(format: "%-13@ %.3f  %@", pair.kind, score, pair.sentence))
        }
        let paraphrases = scores.filter { $0.0.kind == "paraphrase" }.map(\.1)
        let unrelated = scores.filter { $0.0.kind == "unrelated" }.map(\.1)
        #expect(paraphrases.count >= 10 && unrelated.count >= 10)
        // Every unrelated sentence stays below every threshold a sentence is held to.
        let lowest = min(thresholds.faithfulness, thresholds.representation, thresholds.valueCoverage)
        #expect(unrelated.allSatisfy { $0 < lowest }, "unrelated: \(unrelated)")
        // Nearly every paraphrase clears the faithfulness and representation thresholds, and
        // every one the value-coverage threshold (explanations are looser than comments).
        let cleared = paraphrases.filter { $0 >= thresholds.faithfulness }.count
        #expect(Double(cleared) / Double(paraphrases.count) >= 0.9, "paraphrases: \(paraphrases)")
        #expect(paraphrases.allSatisfy { $0 >= thresholds.valueCoverage }, "paraphrases: \(paraphrases)")
    }
}
