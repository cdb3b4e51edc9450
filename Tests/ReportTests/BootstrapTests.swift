import Foundation
@testable import Report
import Testing

@Suite struct BootstrapTests {
    /// Normal noise from the seeded generator (Box–Muller), so the data are the same on every run.
    private func normal(_ generator: inout SplitMix64) -> Double {
        let u = (Double(generator.next() >> 11) + 0.5) / Double(1 << 53)
        let v = (Double(generator.next() >> 11) + 0.5) / Double(1 << 53)
        return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
    }

    @Test func theSameSeedGivesTheSameInterval() throws {
        let differences = (0..<40).map { Double($0 % 7) / 7 - 0.3 }
        let first = try #require(PairedBootstrap.interval(differences: differences, resamples: 2000, seed: 11))
        #expect(PairedBootstrap.interval(differences: differences, resamples: 2000, seed: 11) == first)
        #expect(PairedBootstrap.interval(differences: differences, resamples: 2000, seed: 12) != first)
        #expect(first.low < first.high)
        let mean = differences.reduce(0, +) / Double(differences.count)
        #expect(first.contains(mean))
    }

    @Test func degenerateCases() {
        #expect(PairedBootstrap.interval(differences: [], seed: 1) == nil)
        #expect(PairedBootstrap.interval(differences: [0.25], seed: 1) == Interval(low: 0.25, high: 0.25))
        #expect(PairedBootstrap.interval(differences: Array(repeating: -0.5, count: 30), resamples: 500, seed: 1)
                == Interval(low: -0.5, high: -0.5))
    }

    @Test func quantilesInterpolate() {
        #expect(PairedBootstrap.quantile([0, 10], 0.25) == 2.5)
        #expect(PairedBootstrap.quantile([1, 2, 3, 4, 5], 0.5) == 3)
        #expect(PairedBootstrap.quantile([1, 2, 3, 4, 5], 1) == 5)
    }

    /// Paired data with a known true difference: the 95% interval should contain it in about
    /// 95% of independent experiments (a percentile bootstrap of a mean runs slightly under).
    @Test func intervalsCoverTheTrueDifference() {
        let truth = 0.2
        var generator = SplitMix64(seed: 2024)
        var covered = 0
        let experiments = 400
        for experiment in 0..<experiments {
            let differences = (0..<60).map { _ -> Double in
                let before = normal(&generator)
                let after = before + truth + 0.5 * normal(&generator)
                return after - before
            }
            let interval = PairedBootstrap.interval(differences: differences, resamples: 1000, seed: UInt64(experiment))!
            if interval.contains(truth) { covered += 1 }
        }
        let coverage = Double(covered) / Double(experiments)
        #expect(coverage > 0.90 && coverage < 0.985, "coverage \(coverage)")
    }

    /// Pairing removes the items' own spread: a small shift hidden in large item-to-item
    /// differences is found, where comparing unpaired means could not tell it from zero.
    @Test func pairingFindsAShiftAcrossVariedItems() throws {
        var generator = SplitMix64(seed: 7)
        let before = (0..<80).map { _ in 3 * normal(&generator) }
        let after = before.map { $0 + 0.1 + 0.05 * normal(&generator) }
        let interval = try #require(PairedBootstrap.interval(differences: zip(after, before).map { $0 - $1 }, seed: 3))
        #expect(interval.low > 0 && interval.high < 0.2)
    }

    @Test func comparisonSeedsDependOnTheLabelOnly() {
        #expect(PairedBootstrap.seed(0, for: "a") == PairedBootstrap.seed(0, for: "a"))
        #expect(PairedBootstrap.seed(0, for: "a") != PairedBootstrap.seed(0, for: "b"))
        #expect(PairedBootstrap.seed(0, for: "a") != PairedBootstrap.seed(1, for: "a"))
    }
}
