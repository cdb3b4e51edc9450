import Testing
@testable import Pluralism

@Suite struct RotationTests {
    @Test func rotationsShowEveryCandidateOnceAtEveryPosition() {
        let orders = (0..<4).map { Rotations.order(count: 4, offset: $0) }
        #expect(orders[1] == [1, 2, 3, 0])
        for position in 0..<4 { #expect(Set(orders.map { $0[position] }) == [0, 1, 2, 3]) }
        #expect(Rotations.toOriginal([0.5, 0.3, 0.2, 0], order: [1, 2, 3, 0]) == [0, 0.5, 0.3, 0.2])
    }

    @Test func offsetsFollowTheSetting() {
        #expect(DebiasSettings(rotations: .all).offsets(candidates: 5) == [0, 1, 2, 3, 4])
        #expect(DebiasSettings(rotations: .none).offsets(candidates: 5) == [0])
        #expect(DebiasSettings(rotations: .count(2)).offsets(candidates: 5) == [0, 2])
        #expect(DebiasSettings(rotations: .count(3)).offsets(candidates: 6) == [0, 2, 4])
        #expect(DebiasSettings(rotations: .count(9)).offsets(candidates: 3) == [0, 1, 2])
        #expect(DebiasSettings(rotations: .all).offsets(candidates: 1) == [0])
    }

    @Test func aPositionBiasCancelsToTheLastBit() {
        // Awkward numbers whose sums depend on the order they are added in.
        let byPosition = [0.1, 0.7, 0.2 + 1e-17, 1.0 / 3 - 0.1, 0.1 + 0.2 - 1.0 / 3]
        let parts = (0..<5).map { offset in
            Rotations.toOriginal(byPosition, order: Rotations.order(count: 5, offset: offset))
        }
        let mean = Rotations.average(parts)
        #expect(Set(mean).count == 1)
        #expect(Choice.make(mean, seed: 3).tied == [0, 1, 2, 3, 4])
    }

    @Test func tiesAreDrawnBySeedAndNeverByPosition() {
        let flat = [0.25, 0.25, 0.25, 0.25]
        let draws = (0..<200).map { Choice.make(flat, seed: CallSeed.derive(runSeed: 1, itemID: "i\($0)", purpose: "tie")).index }
        for option in 0..<4 { #expect(draws.filter { $0 == option }.count > 25) }
        #expect(Choice.make(flat, seed: 42) == Choice.make(flat, seed: 42))
        // A clear winner is not a tie, and one within rounding is.
        #expect(Choice.make([0.2, 0.5, 0.3], seed: 9) == Choice(index: 1, tied: [1]))
        #expect(Choice.make([0.5, 0.5 - 1e-15, 0], seed: 9).tied == [0, 1])
    }

    @Test func seededPermutationsAreReproducibleAndBalanced() {
        #expect(Rotations.seededPermutation(count: 6, seed: 5) == Rotations.seededPermutation(count: 6, seed: 5))
        var firsts = Array(repeating: 0, count: 6)
        var lasts = Array(repeating: 0, count: 6)
        for seed in 0..<6000 {
            let order = Rotations.seededPermutation(count: 6, seed: UInt64(seed))
            #expect(order.sorted() == Array(0..<6))
            firsts[order[0]] += 1
            lasts[order[5]] += 1
        }
        #expect(firsts.allSatisfy { (800...1200).contains($0) }, "\(firsts)")
        #expect(lasts.allSatisfy { (800...1200).contains($0) }, "\(lasts)")
    }

    @Test func argmaxSharesSplitTies() {
        #expect(Rotations.argmaxShares([0.2, 0.5, 0.3]) == [0, 1, 0])
        #expect(Rotations.argmaxShares([0.4, 0.4, 0.2]) == [0.5, 0.5, 0])
    }
}
