/// Steering accuracy, balanced accuracy and macro-F1 from gold and predicted class indices,
/// and the same metrics for the majority-class baseline.
///
/// Conventions (those of scikit-learn, which the paper's numbers come from): balanced
/// accuracy averages recall over the classes that occur in gold; macro-F1 averages F1 over
/// the classes that occur in gold or in the predictions, so a class nobody predicted and no
/// item has is left out rather than counted as 0 or 1; a class with no true positives has
/// F1 0.
public struct Classification: Sendable, Equatable {
    /// `counts[gold][predicted]`.
    public private(set) var counts: [[Int]]

    public init(classes: Int) {
        counts = Array(repeating: Array(repeating: 0, count: classes), count: classes)
    }

    /// A matrix of the given (gold, predicted) pairs.
    public init(classes: Int, pairs: [(gold: Int, predicted: Int)]) {
        self.init(classes: classes)
        for pair in pairs { add(gold: pair.gold, predicted: pair.predicted) }
    }

    public mutating func add(gold: Int, predicted: Int) {
        counts[gold][predicted] += 1
    }

    public var classes: Int { counts.count }
    public var total: Int { counts.joined().reduce(0, +) }
    private func goldCount(_ c: Int) -> Int { counts[c].reduce(0, +) }
    private func predictedCount(_ c: Int) -> Int { counts.reduce(0) { $0 + $1[c] } }
    private var goldClasses: [Int] { (0..<classes).filter { goldCount($0) > 0 } }

    public var accuracy: Double? {
        total > 0 ? Double((0..<classes).reduce(0) { $0 + counts[$1][$1] }) / Double(total) : nil
    }

    public var balancedAccuracy: Double? {
        let present = goldClasses
        guard !present.isEmpty else { return nil }
        return present.reduce(0.0) { $0 + Double(counts[$1][$1]) / Double(goldCount($1)) } / Double(present.count)
    }

    public var macroF1: Double? {
        macroF1(labels: (0..<classes).filter { goldCount($0) > 0 || predictedCount($0) > 0 })
    }

    /// Macro-F1 over the given classes only; predictions of other classes still count as
    /// misses of the gold class (the 2-way score without "either").
    public func macroF1(labels: [Int]) -> Double? {
        guard !labels.isEmpty else { return nil }
        let sum = labels.reduce(0.0) { sum, c in
            let truePositives = Double(counts[c][c])
            let denominator = Double(goldCount(c) + predictedCount(c))
            return sum + (truePositives > 0 ? 2 * truePositives / denominator : 0)
        }
        return sum / Double(labels.count)
    }

    /// The majority class in gold (the lowest index among ties).
    public var majorityClass: Int? {
        goldClasses.max { a, b in goldCount(a) < goldCount(b) || (goldCount(a) == goldCount(b) && a > b) }
    }

    /// The same items, every one predicted as the majority class: the trivial baseline shown
    /// beside each steering score.
    public var majorityBaseline: Classification {
        var baseline = Classification(classes: classes)
        guard let majority = majorityClass else { return baseline }
        for gold in 0..<classes {
            for _ in 0..<goldCount(gold) { baseline.add(gold: gold, predicted: majority) }
        }
        return baseline
    }
}
