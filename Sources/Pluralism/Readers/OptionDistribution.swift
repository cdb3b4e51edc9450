import Foundation

/// A probability distribution over a multiple-choice item's options, read from a model's
/// next-token alternatives.
///
/// Reading keeps two facts the original research code dropped: how much of the model's
/// probability the option tokens covered (OpenAI-style servers return at most 20
/// alternatives, so an option outside them is unrecoverable), and whether the reading fell
/// back to uniform because no option token appeared at all.
public struct OptionDistribution: Sendable, Equatable {
    /// One probability per option, summing to 1.
    public var probabilities: [Double]
    /// The total probability of the alternatives that mapped to an option (0...1), before
    /// renormalisation. Low coverage means the reading rests on little of the model's mass.
    public var coveredMass: Double
    /// True when the probabilities are a uniform stand-in, not the model's.
    public var fallback: Bool

    public init(probabilities: [Double], coveredMass: Double, fallback: Bool) {
        self.probabilities = probabilities
        self.coveredMass = coveredMass
        self.fallback = fallback
    }

    /// The uniform distribution recorded when nothing could be read.
    public static func uniformFallback(optionCount: Int) -> OptionDistribution {
        OptionDistribution(
            probabilities: Array(repeating: 1 / Double(optionCount), count: optionCount),
            coveredMass: 0, fallback: true)
    }

    /// The index of the most probable option; ties go to the lower index.
    public var argmax: Int? {
        probabilities.isEmpty ? nil : Divergence.argmax(probabilities)
    }

    /// Reads the distribution over `optionCount` options (lettered A, B, …) from the
    /// alternatives for the first answer token.
    ///
    /// Every alternative whose text is an option letter in one of its usual spellings counts
    /// towards that option, and all spellings are summed (the original kept only the first
    /// match): "A", " A", "A.", "A)", "A:", "A,", "(A", "(A)", "[A]", "**A", "\nA" — see
    /// `optionIndex(of:)`. Lowercase letters count only inside brackets ("(a", "a)"): a bare
    /// "a" is far more often the English article than an option label. Letters past the
    /// option count, and duplicated alternatives, are handled plainly: the former are
    /// ignored, the latter summed. The result is renormalised over the options; with no
    /// option token at all it is uniform with `fallback` set and `coveredMass` 0.
    public static func read(_ alternatives: [TokenLogprob], optionCount: Int) -> OptionDistribution {
        precondition((1...26).contains(optionCount), "option count \(optionCount) outside 1...26")
        var mass = Array(repeating: 0.0, count: optionCount)
        for alternative in alternatives {
            guard let option = optionIndex(of: alternative.token), option < optionCount else { continue }
            let probability = Foundation.exp(alternative.logprob)
            guard probability.isFinite, probability > 0 else { continue }
            mass[option] += probability
        }
        let covered = mass.reduce(0, +)
        guard covered > 0 else { return uniformFallback(optionCount: optionCount) }
        return OptionDistribution(
            probabilities: mass.map { $0 / covered }, coveredMass: min(covered, 1), fallback: false)
    }

    /// The option (0 for A) a token spells, if any.
    ///
    /// Surrounding whitespace (including the tokenizers' space markers "Ġ" and "▁") is
    /// dropped; then at most one opening bracket or markdown run before the letter and
    /// closing punctuation after it. What remains must be one ASCII letter, uppercase, or
    /// lowercase when a bracket was present.
    public static func optionIndex(of token: String) -> Int? {
        var text = Substring(token)
        let spaceMarkers: Set<Character> = ["Ġ", "▁", "Ċ"]
        text = text.drop { $0.isWhitespace || spaceMarkers.contains($0) }
        while let last = text.last, last.isWhitespace { text = text.dropLast() }

        var bracketed = false
        if let first = text.first, first == "(" || first == "[" {
            bracketed = true
            text = text.dropFirst()
        } else {
            text = text.drop { $0 == "*" || $0 == "_" }
        }
        guard let letter = text.first, letter.isASCII, letter.isLetter else { return nil }
        let rest = text.dropFirst()
        let closers: Set<Character> = [")", "]", ".", ":", ",", "*", "_"]
        guard rest.allSatisfy(closers.contains), rest.count <= 2 else { return nil }
        if rest.first == ")" || rest.first == "]" { bracketed = true }

        guard let ascii = letter.asciiValue else { return nil }
        if letter.isUppercase { return Int(ascii - UInt8(ascii: "A")) }
        return bracketed ? Int(ascii - UInt8(ascii: "a")) : nil
    }

    /// The weighted average of several distributions over the same options (the
    /// distributional mode's mixture of community-conditioned answers).
    ///
    /// Weights are renormalised (all-zero weights count as uniform). Fallen-back parts take
    /// part with their uniform probabilities, as in the paper's averaging; each part's own
    /// record keeps its fallback flag. The mixture's `coveredMass` is the weighted mean of
    /// the parts', and it is a `fallback` only when every part with weight fell back, since
    /// only then does it carry nothing from the model.
    public static func mix(_ parts: [OptionDistribution], weights: [Double]) -> OptionDistribution {
        precondition(!parts.isEmpty, "mixing no distributions")
        precondition(parts.count == weights.count, "\(parts.count) distributions but \(weights.count) weights")
        precondition(weights.allSatisfy { $0 >= 0 && $0.isFinite }, "negative or non-finite weight in \(weights)")
        let optionCount = parts[0].probabilities.count
        precondition(parts.allSatisfy { $0.probabilities.count == optionCount }, "mixing distributions over different option counts")

        let total = weights.reduce(0, +)
        let normalised = total > 0 ? weights.map { $0 / total } : Array(repeating: 1 / Double(parts.count), count: parts.count)
        var probabilities = Array(repeating: 0.0, count: optionCount)
        var covered = 0.0
        var allFellBack = true
        for (part, weight) in zip(parts, normalised) where weight > 0 {
            for option in 0..<optionCount { probabilities[option] += weight * part.probabilities[option] }
            covered += weight * part.coveredMass
            allFellBack = allFellBack && part.fallback
        }
        return OptionDistribution(probabilities: probabilities, coveredMass: covered, fallback: allFellBack)
    }
}
