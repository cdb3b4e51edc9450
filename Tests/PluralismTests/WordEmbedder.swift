import ContentHash
@testable import Pluralism

/// A deterministic stand-in for the sentence encoder: each lower-cased word adds one to a
/// dimension chosen by its hash, and the sum is L2-normalised. Sentences sharing words are
/// similar, sentences sharing none have cosine 0: enough to tell metrics apart by hand.
struct WordEmbedder: SentenceEmbedder {
    var dimension = 1 << 16
    var fingerprint: String { "words-\(dimension)" }

    func embed(_ texts: [String]) throws -> [[Float]] {
        texts.map { text in
            var vector = [Float](repeating: 0, count: dimension)
            let words = text.lowercased().split { !$0.isLetter && !$0.isNumber }
            for word in words {
                var hash = SHA256()
                hash.update(String(word))
                let digest = hash.finalize()
                let index = (Int(digest[0]) << 8 | Int(digest[1])) % dimension  // 16 bits: collisions are rare
                vector[index] += 1
            }
            let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return norm > 0 ? vector.map { $0 / norm } : vector
        }
    }
}
