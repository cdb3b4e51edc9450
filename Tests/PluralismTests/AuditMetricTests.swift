import Foundation
import Testing
@testable import Pluralism

/// Every expected value here is worked out by hand (the arithmetic is in the comments).
struct AuditMetricTests {
    @Test func jensenShannonDistanceMatchesHandComputedValues() {
        let ln2 = log(2.0)
        #expect(Divergence.jensenShannonDistance([1, 0], [1, 0]) == 0)
        // Disjoint: each side contributes ln 2, the divergence is ln 2, the distance √ln 2.
        #expect(abs(Divergence.jensenShannonDistance([1, 0], [0, 1]) - ln2.squareRoot()) < 1e-12)
        #expect(abs(Divergence.maxJensenShannonDistance - 0.8325546111576977) < 1e-12)
        // p = (1, 0), q = (½, ½): m = (¾, ¼); KL(p‖m) = ln(4/3); KL(q‖m) = ½ ln(2/3) + ½ ln 2.
        let divergence = (log(4.0 / 3) + 0.5 * log(2.0 / 3) + 0.5 * ln2) / 2
        #expect(abs(Divergence.jensenShannonDistance([1, 0], [0.5, 0.5]) - divergence.squareRoot()) < 1e-12)
        // Inputs are normalised first, as scipy does.
        #expect(abs(Divergence.jensenShannonDistance([2, 0], [1, 1]) - divergence.squareRoot()) < 1e-12)
        // Symmetric.
        let p = [0.7, 0.2, 0.1], q = [0.1, 0.3, 0.6]
        #expect(Divergence.jensenShannonDistance(p, q) == Divergence.jensenShannonDistance(q, p))
    }

    @Test func argmaxAndMixFollowTheirRules() {
        #expect(Divergence.argmax([0.2, 0.4, 0.4]) == 1)
        #expect(Divergence.mix([[1, 0], [0, 1]], weights: [3, 1]) == [0.75, 0.25])
        #expect(Divergence.mix([[1, 0], [0, 1]], weights: [0, 0]) == [0.5, 0.5])
    }

    @Test func accuracyBalancedAccuracyAndMacroF1() {
        // gold:      A A A B B C
        // predicted: A A B B A A
        let matrix = Classification(classes: 3, pairs: [(0, 0), (0, 0), (0, 1), (1, 1), (1, 0), (2, 0)])
        #expect(matrix.accuracy == 3.0 / 6)
        // Recall: A 2/3, B 1/2, C 0 → mean 7/18.
        #expect(abs(matrix.balancedAccuracy! - 7.0 / 18) < 1e-12)
        // F1: A = 2·2/(3+4) = 4/7; B = 2·1/(2+2) = 1/2; C = 0 → (4/7 + 1/2) / 3.
        #expect(abs(matrix.macroF1! - (4.0 / 7 + 0.5) / 3) < 1e-12)
    }

    @Test func balancedAccuracyIgnoresAClassMissingFromGold() {
        // Class C never occurs in gold but is predicted once.
        let matrix = Classification(classes: 3, pairs: [(0, 0), (0, 2), (1, 1), (1, 1)])
        // Recall over A and B only: (1/2 + 1) / 2.
        #expect(matrix.balancedAccuracy == 0.75)
        // F1: A = 2/(2+1) = 2/3; B = 4/(2+2) = 1; C (predicted, no gold) = 0 → 5/9.
        #expect(abs(matrix.macroF1! - 5.0 / 9) < 1e-12)
    }

    @Test func macroF1LeavesOutAClassNobodyHasOrPredicts() {
        // Class C is empty: neither gold nor predicted, so it is not averaged in.
        let matrix = Classification(classes: 3, pairs: [(0, 0), (1, 1), (1, 0)])
        // A = 2·1/(1+2) = 2/3; B = 2·1/(2+1) = 2/3.
        #expect(abs(matrix.macroF1! - 2.0 / 3) < 1e-12)
        // Two-way score restricted to A and B, with a prediction of C counted as a miss.
        let withEither = Classification(classes: 3, pairs: [(0, 0), (1, 2)])
        // A = 2/(1+1) = 1; B = 0 (no true positive) → ½.
        #expect(withEither.macroF1(labels: [0, 1]) == 0.5)
    }

    @Test func majorityBaselinePredictsTheMostFrequentGoldClass() {
        let matrix = Classification(classes: 3, pairs: [(0, 2), (1, 1), (1, 1), (1, 0), (2, 2)])
        #expect(matrix.majorityClass == 1)
        let baseline = matrix.majorityBaseline
        #expect(baseline.accuracy == 3.0 / 5)
        #expect(abs(baseline.balancedAccuracy! - 1.0 / 3) < 1e-12)
        // Only B has F1: 2·3/(3+5) = 3/4, averaged over the three gold classes.
        #expect(abs(baseline.macroF1! - 0.25) < 1e-12)
        #expect(Classification(classes: 2).accuracy == nil)
    }

    @Test func supportAttributionFaithfulnessAndCoverage() {
        // Rows are premises (comment sentences), columns answer sentences.
        let support: [[Double]] = [
            [0.9, 0.1, 0.3],
            [0.2, 0.4, 0.3],
            [0.6, 0.7, 0.3],
        ]
        let all = Support.attribute(support, premises: [0, 1, 2], sentences: 3, threshold: 0.5)
        #expect(all.map(\.premise) == [0, 2, 0])
        #expect(all.map(\.supported) == [true, true, false])
        #expect(Support.faithfulness(all) == 2.0 / 3)
        // Only premise 1 in the prompt: nothing reaches 0.5.
        #expect(Support.faithfulness(Support.attribute(support, premises: [1], sentences: 3, threshold: 0.5)) == 0)
        #expect(Support.faithfulness([]) == nil)

        let pairs = Support.strongestPairs(support, premises: [1, 2], sentences: 3, limit: 2)
        #expect(pairs == [Support.Pair(premise: 2, sentence: 1, support: 0.7), Support.Pair(premise: 2, sentence: 0, support: 0.6)])

        // Two values: best supports 0.9 and 0.7 → mean 0.8.
        let coverage = Support.valueCoverage([[0.9, 0.1], [0.2, 0.7]], sentences: 2)
        #expect(coverage.perValue.map(\.sentence) == [0, 1])
        #expect(abs(coverage.mean! - 0.8) < 1e-12)
    }

    @Test func judgeReadsYesAgainstNo() {
        let alternatives = [TokenLogprob(token: " Yes", logprob: log(0.3)), TokenLogprob(token: "yes", logprob: log(0.1)),
                            TokenLogprob(token: "No", logprob: log(0.4)), TokenLogprob(token: "Maybe", logprob: log(0.2))]
        #expect(abs(JudgeScorer.probabilityOfYes(alternatives) - 0.5) < 1e-12)
        #expect(JudgeScorer.probabilityOfYes([TokenLogprob(token: "Maybe", logprob: 0)]) == 0)
    }
}
