import Foundation
import Testing
@testable import Pluralism

private func alt(_ token: String, _ p: Double) -> TokenLogprob { TokenLogprob(token: token, logprob: log(p)) }

private func close(_ a: [Double], _ b: [Double], tolerance: Double = 1e-12) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance }
}

@Suite struct OptionDistributionTests {
    @Test(arguments: [
        ("A", 0), (" A", 0), ("A.", 0), ("(A", 0), ("A)", 0), (" (A", 0), ("(A)", 0), ("[B]", 1),
        ("A:", 0), ("B,", 1), ("**C", 2), ("C**", 2), ("\nD", 3), ("ĠA", 0), ("▁B", 1), ("Z", 25),
        ("(a", 0), ("b)", 1), ("(c)", 2),
    ] as [(String, Int)])
    func optionSpellings(token: String, option: Int) {
        #expect(OptionDistribution.optionIndex(of: token) == option, "\(token.debugDescription)")
    }

    @Test(arguments: ["a", " a", "a.", "An", "AB", "Answer", "1", "", " ", "(", "A..:", "É", "((A"])
    func notOptions(token: String) {
        #expect(OptionDistribution.optionIndex(of: token) == nil, "\(token.debugDescription)")
    }

    @Test func variantsAreSummedAndRenormalised() {
        let read = OptionDistribution.read(
            [alt("A", 0.3), alt(" A", 0.1), alt("B", 0.2), alt("(B", 0.1), alt("The", 0.2), alt("C.", 0.05)],
            optionCount: 3)
        #expect(!read.fallback)
        #expect(abs(read.coveredMass - 0.75) < 1e-12)
        #expect(close(read.probabilities, [0.4 / 0.75, 0.3 / 0.75, 0.05 / 0.75]))
        #expect(read.argmax == 0)
    }

    @Test func duplicateTokensAreSummed() {
        let read = OptionDistribution.read([alt("A", 0.2), alt("A", 0.2), alt("B", 0.4)], optionCount: 2)
        #expect(close(read.probabilities, [0.5, 0.5]))
        #expect(abs(read.coveredMass - 0.8) < 1e-12)
    }

    @Test func lettersPastTheOptionCountAreIgnored() {
        let read = OptionDistribution.read([alt("A", 0.2), alt("C", 0.5), alt("B", 0.2)], optionCount: 2)
        #expect(close(read.probabilities, [0.5, 0.5]))
        #expect(abs(read.coveredMass - 0.4) < 1e-12)
    }

    @Test func lowercaseCountsOnlyInBrackets() {
        let read = OptionDistribution.read([alt("a", 0.6), alt("(b", 0.1), alt("B", 0.1)], optionCount: 2)
        #expect(close(read.probabilities, [0, 1]))
        #expect(abs(read.coveredMass - 0.2) < 1e-12)
    }

    @Test func noOptionTokenFallsBackToUniform() {
        let read = OptionDistribution.read([alt("The", 0.5), alt("I", 0.3), alt("a", 0.1)], optionCount: 4)
        #expect(read == OptionDistribution(probabilities: [0.25, 0.25, 0.25, 0.25], coveredMass: 0, fallback: true))
        #expect(OptionDistribution.read([], optionCount: 2).fallback)
        let minusInfinity = OptionDistribution.read([TokenLogprob(token: "A", logprob: -.infinity)], optionCount: 2)
        #expect(minusInfinity.fallback)
    }

    @Test func mixIsTheWeightedAverage() {
        let a = OptionDistribution(probabilities: [1, 0], coveredMass: 0.9, fallback: false)
        let b = OptionDistribution(probabilities: [0, 1], coveredMass: 0.5, fallback: false)
        let mixed = OptionDistribution.mix([a, b], weights: [3, 1])
        #expect(close(mixed.probabilities, [0.75, 0.25]))
        #expect(abs(mixed.coveredMass - 0.8) < 1e-12)
        #expect(!mixed.fallback)
        #expect(close(OptionDistribution.mix([a, b], weights: [0, 0]).probabilities, [0.5, 0.5]))
    }

    @Test func mixFallsBackOnlyWhenEveryWeightedPartDid() {
        let uniform = OptionDistribution.uniformFallback(optionCount: 2)
        let read = OptionDistribution(probabilities: [1, 0], coveredMass: 0.6, fallback: false)
        let partly = OptionDistribution.mix([uniform, read], weights: [1, 1])
        #expect(!partly.fallback)
        #expect(close(partly.probabilities, [0.75, 0.25]))
        #expect(abs(partly.coveredMass - 0.3) < 1e-12)
        #expect(OptionDistribution.mix([uniform, uniform], weights: [1, 2]).fallback)
        #expect(OptionDistribution.mix([uniform, read], weights: [1, 0]).fallback)
    }
}
