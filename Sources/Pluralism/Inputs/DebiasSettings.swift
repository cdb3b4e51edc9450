/// How candidates and passages are ordered in prompts: the `debias` block of the run
/// configuration.
///
/// Every model prefers some positions and letters whatever they label (the first comment,
/// option A). Showing the candidates in several cyclic rotations and averaging what was read,
/// mapped back to the original order, removes that preference from the answer; the parts are
/// stored, so the audit can show the bias that was removed. Part of the run's identity: a
/// different order is a different study.
public struct DebiasSettings: Sendable, Hashable {
    /// How many cyclic rotations of the candidates (comments for a selection, experts for MoE,
    /// options for a multiple-choice answer) each choice is read in.
    public enum Rotations: Sendable, Hashable {
        /// One per candidate: every candidate is shown once at every position, so a
        /// preference for a position alone cancels exactly.
        case all
        /// The configuration's order only: the paper's single read.
        case none
        /// At most this many rotations, spread evenly over the positions (offset 0 first).
        case count(Int)
    }

    /// In what order an Overton prompt shows the communities' comments.
    public enum Passages: String, Sendable, CaseIterable {
        /// A seeded permutation per item, so no community is always first or last.
        case shuffled
        /// The configuration's order.
        case config
    }

    public var rotations: Rotations
    public var passages: Passages

    public init(rotations: Rotations = .all, passages: Passages = .shuffled) {
        self.rotations = rotations
        self.passages = passages
    }

    /// The rotation offsets for `count` candidates, in the order they are read: offset `r`
    /// shows candidate `(p + r) mod count` at position `p`. Offset 0 (the configuration's
    /// order) always comes first, so the first part is what a single read would have seen.
    public func offsets(candidates count: Int) -> [Int] {
        guard count > 1 else { return [0] }
        switch rotations {
        case .all: return Array(0..<count)
        case .none: return [0]
        case .count(let wanted):
            let taken = min(max(wanted, 1), count)
            return (0..<taken).map { $0 * count / taken }
        }
    }

    /// The settings as canonical JSON (in the run manifest's config).
    var json: JSON {
        let rotations: JSON = switch self.rotations {
        case .all: .string("all")
        case .none: .string("none")
        case .count(let count): .integer(Int64(count))
        }
        return .object(["rotations": rotations, "passages": .string(passages.rawValue)])
    }
}
