/// How a run is audited: the `audit` block of the run configuration.
///
/// Not part of the run's identity: changing the scorer or a threshold re-scores the same
/// run (`pluralism audit`) without calling a community or base model again. What measured
/// a run is stored beside its scores instead (the `audit_scorer` table).
public struct AuditSettings: Sendable, Hashable {
    public enum Scorer: String, Sendable, CaseIterable { case embedding, judge }

    /// Thresholds in [0, 1] above which a score counts (docs/audit.md says where each applies).
    public struct Thresholds: Sendable, Hashable {
        /// An answer sentence is supported by a comment sentence.
        public var faithfulness: Double
        /// A community's comment is represented in a text answer.
        public var representation: Double
        /// A community's distribution is represented in a multiple-choice answer
        /// (1 − JS distance / √ln 2).
        public var representationDistribution: Double
        /// An item's reference values are covered (mean over values of the best support).
        public var valueCoverage: Double

        public init(faithfulness: Double, representation: Double, representationDistribution: Double, valueCoverage: Double) {
            self.faithfulness = faithfulness
            self.representation = representation
            self.representationDistribution = representationDistribution
            self.valueCoverage = valueCoverage
        }

        /// Config and corpus names, in a fixed order.
        public static let names = ["faithfulness", "representation", "representation_distribution", "value_coverage"]

        public var values: [Double] { [faithfulness, representation, representationDistribution, valueCoverage] }

        public init(values: [Double]) {
            self.init(faithfulness: values[0], representation: values[1], representationDistribution: values[2],
                      valueCoverage: values[3])
        }

        /// Calibrated on hand-made pairs with all-MiniLM-L6-v2 (see docs/audit.md).
        public static let embedding = Thresholds(faithfulness: 0.5, representation: 0.5, representationDistribution: 0.8,
                                                 valueCoverage: 0.4)
        /// A judge's P(yes): more likely yes than no.
        public static let judge = Thresholds(faithfulness: 0.5, representation: 0.5, representationDistribution: 0.8,
                                             valueCoverage: 0.5)

        public var json: JSON {
            .object(Dictionary(uniqueKeysWithValues: zip(Self.names, values.map(JSON.double))))
        }
    }

    public var scorer: Scorer
    /// The judge scorer's model (nil: the run's base model).
    public var judgeModel: ModelSpec?
    public var thresholds: Thresholds

    public init(scorer: Scorer = .embedding, judgeModel: ModelSpec? = nil, thresholds: Thresholds? = nil) {
        self.scorer = scorer
        self.judgeModel = judgeModel
        self.thresholds = thresholds ?? (scorer == .judge ? .judge : .embedding)
    }
}
