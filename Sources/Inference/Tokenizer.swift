// The byte-level BPE tokenizer of GPT-2 and its descendants, read from a GGUF file's
// `tokenizer.ggml.*` metadata, producing the same ids as llama.cpp.
//
// Encoding: split the text at special tokens (`<|im_start|>`…), cut each remaining piece
// into words (PreTokenizer), then in every word start from one symbol per byte and merge
// the adjacent pair whose merge rule comes first in `tokenizer.ggml.merges`, until no rule
// applies. Decoding concatenates the tokens' bytes.
//
// Token texts in the file spell bytes with GPT-2's byte↔unicode table (printable bytes stand
// for themselves, the others are shifted to U+0100…), so that every token is printable. The
// table is undone once at load time: from then on tokens are plain byte strings.

/// Why a GGUF file's tokenizer could not be built. The text names the metadata key.
public struct TokenizerError: Error, CustomStringConvertible, Equatable {
    public var key: String
    public var message: String

    public init(key: String, message: String) {
        self.key = key
        self.message = message
    }

    public var description: String { "tokenizer metadata \(key): \(message)" }
}

/// A byte-level BPE tokenizer. Immutable and cheap to copy (the vocabulary is shared).
public struct Tokenizer: Sendable {
    /// What `tokenizer.ggml.token_type` says a token is; llama.cpp's numbering.
    public enum TokenKind: Int, Sendable {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    private let vocabulary: Vocabulary

    /// Reads the vocabulary, merges, token kinds and pre-tokenizer from the file's metadata.
    public init(gguf: GGUFFile) throws {
        guard let model = gguf.string("tokenizer.ggml.model") else {
            throw TokenizerError(key: "tokenizer.ggml.model", message: "missing in \(gguf.path)")
        }
        guard model == "gpt2" else {
            throw TokenizerError(key: "tokenizer.ggml.model",
                                 message: "found \"\(model)\"; only byte-level BPE (\"gpt2\") is supported")
        }
        // Without this key llama.cpp falls back to a different, older split: guessing would
        // give ids that silently differ from the model's training.
        guard let preName = gguf.string("tokenizer.ggml.pre") else {
            throw TokenizerError(key: "tokenizer.ggml.pre", message: "missing in \(gguf.path)")
        }
        guard let pre = PreTokenizer(ggmlName: preName) else {
            throw TokenizerError(key: "tokenizer.ggml.pre",
                                 message: "found \"\(preName)\"; supported: smollm and the GPT-2 family")
        }
        guard let tokens = gguf.strings("tokenizer.ggml.tokens") else {
            throw TokenizerError(key: "tokenizer.ggml.tokens", message: "missing or not an array of strings")
        }
        guard let merges = gguf.strings("tokenizer.ggml.merges") else {
            throw TokenizerError(key: "tokenizer.ggml.merges", message: "missing or not an array of strings")
        }
        let types = gguf.integers("tokenizer.ggml.token_type")
        try self.init(tokens: tokens, tokenTypes: types, merges: merges, preTokenizer: pre,
                      endOfSequenceID: gguf.integer("tokenizer.ggml.eos_token_id"))
    }

    /// Builds a tokenizer from the metadata arrays themselves (token texts in GPT-2's byte
    /// spelling, merges as "left right"). `tokenTypes` nil means all normal.
    public init(tokens: [String], tokenTypes: [Int]?, merges: [String],
                preTokenizer: PreTokenizer = .digitsThenGPT2, endOfSequenceID: Int? = nil) throws {
        vocabulary = try Vocabulary(tokens: tokens, types: tokenTypes, merges: merges,
                                    preTokenizer: preTokenizer, endOfSequenceID: endOfSequenceID)
    }

    public var vocabularySize: Int { vocabulary.tokenBytes.count }
    /// `<|im_end|>`: the end of a chat turn, where a chat model stops.
    public var endOfTurnID: Int32 { vocabulary.endOfTurnID }
    /// `<|endoftext|>`: the end of a document.
    public var endOfTextID: Int32 { vocabulary.endOfTextID }

    /// The id of a special token spelled exactly `text` (for example `<|im_start|>`).
    public func specialTokenID(_ text: String) -> Int32? {
        vocabulary.specials.first { $0.bytes.elementsEqual(text.utf8) }?.id
    }

    /// The token's kind; nil for an id outside the vocabulary.
    public func kind(of id: Int32) -> TokenKind? {
        id >= 0 && Int(id) < vocabulary.kinds.count ? vocabulary.kinds[Int(id)] : nil
    }

    /// Token ids of `text`, with no beginning-of-sequence token added. With `parseSpecial`,
    /// the spelling of a control token (`<|im_end|>`) in the text becomes that token; without
    /// it, it is tokenized as ordinary characters. User-defined tokens are always recognised,
    /// as in llama.cpp. Bytes the vocabulary cannot spell (a few ASCII control characters)
    /// are dropped, as llama.cpp drops them.
    public func encode(_ text: String, parseSpecial: Bool = true) -> [Int32] {
        let bytes = Array(text.utf8)
        var ids: [Int32] = []
        ids.reserveCapacity(bytes.count / 3 + 4)
        var bpe = BytePairMerger()
        for fragment in vocabulary.fragments(of: bytes, parseSpecial: parseSpecial) {
            switch fragment {
            case .special(let id):
                ids.append(id)
            case .text(let range):
                let piece = Array(bytes[range])
                for word in vocabulary.preTokenizer.split(piece) {
                    bpe.encode(piece[word], vocabulary: vocabulary, into: &ids)
                }
            }
        }
        return ids
    }

    /// The text of a token sequence. Control tokens are spelled out (`<|im_end|>`). Bytes
    /// that do not form valid UTF-8 (only possible for sequences a model would not normally
    /// produce) become U+FFFD.
    public func decode(_ ids: [Int32]) -> String {
        var bytes: [UInt8] = []
        for id in ids { bytes.append(contentsOf: self.bytes(of: id)) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// One token's text on its own, for showing alternatives: a token that holds part of a
    /// multi-byte character shows U+FFFD for the partial bytes.
    public func piece(_ id: Int32) -> String {
        String(decoding: bytes(of: id), as: UTF8.self)
    }

    /// The raw bytes a token stands for; empty for an id outside the vocabulary.
    public func bytes(of id: Int32) -> [UInt8] {
        guard id >= 0, Int(id) < vocabulary.tokenBytes.count else { return [] }
        return vocabulary.tokenBytes[Int(id)]
    }
}

/// Turns generated tokens into text as they arrive, holding back the bytes of a character
/// that is split across tokens until it is complete (emoji and CJK often are).
public struct StreamingDecoder: Sendable {
    private let tokenizer: Tokenizer
    private var pending: [UInt8] = []

    public init(tokenizer: Tokenizer) {
        self.tokenizer = tokenizer
    }

    /// Adds a token; returns the text completed by it (possibly empty). The concatenation of
    /// all returned strings and `flush()` equals `tokenizer.decode(allIDs)`.
    public mutating func append(_ id: Int32) -> String {
        pending.append(contentsOf: tokenizer.bytes(of: id))
        let cut = pending.count - UTF8Tail.incompleteSuffixLength(pending)
        guard cut > 0 else { return "" }
        let text = String(decoding: pending[..<cut], as: UTF8.self)
        pending.removeFirst(cut)
        return text
    }

    /// Returns whatever is held back (an unfinished character becomes U+FFFD).
    public mutating func flush() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }
}

enum UTF8Tail {
    /// The length of the longest suffix of `bytes` that is the start of a valid UTF-8
    /// character still missing bytes (0 when the bytes end on a character boundary or on
    /// bytes that can never become valid).
    static func incompleteSuffixLength(_ bytes: [UInt8]) -> Int {
        let n = bytes.count
        var back = 1
        while back <= min(3, n) {
            let lead = bytes[n - back]
            if lead & 0xC0 != 0x80 {
                let needed: Int
                switch lead {
                case 0xC2...0xDF: needed = 2
                case 0xE0...0xEF: needed = 3
                case 0xF0...0xF4: needed = 4
                default: return 0
                }
                guard back < needed else { return 0 }
                if back >= 2 {
                    // The second byte's range depends on the lead (no overlongs, surrogates
                    // or scalars past U+10FFFF).
                    let second = bytes[n - back + 1]
                    let valid: ClosedRange<UInt8> = switch lead {
                    case 0xE0: 0xA0...0xBF
                    case 0xED: 0x80...0x9F
                    case 0xF0: 0x90...0xBF
                    case 0xF4: 0x80...0x8F
                    default: 0x80...0xBF
                    }
                    guard valid.contains(second) else { return 0 }
                }
                return back
            }
            back += 1
        }
        return 0
    }
}

/// The loaded vocabulary, shared by all copies of a tokenizer.
private final class Vocabulary: Sendable {
    let tokenBytes: [[UInt8]]
    let kinds: [Tokenizer.TokenKind]
    /// The token of each single byte, -1 where the vocabulary has none.
    let byteToken: [Int32]
    /// (left id << 32 | right id) → (rank << 32 | merged id).
    let merges: [UInt64: UInt64]
    /// Control, user-defined and unknown tokens, longest first: llama.cpp's matching order.
    let specials: [(bytes: [UInt8], id: Int32, kind: Tokenizer.TokenKind)]
    let preTokenizer: PreTokenizer
    let endOfTurnID: Int32
    let endOfTextID: Int32

    init(tokens: [String], types: [Int]?, merges mergeRules: [String], preTokenizer: PreTokenizer,
         endOfSequenceID: Int?) throws {
        guard !tokens.isEmpty, tokens.count < Int(Int32.max) else {
            throw TokenizerError(key: "tokenizer.ggml.tokens", message: "has \(tokens.count) entries")
        }
        if let types, types.count != tokens.count {
            throw TokenizerError(key: "tokenizer.ggml.token_type",
                                 message: "has \(types.count) entries for \(tokens.count) tokens")
        }
        var kinds: [Tokenizer.TokenKind] = []
        kinds.reserveCapacity(tokens.count)
        for i in tokens.indices {
            let raw = types?[i] ?? 1
            guard let kind = Tokenizer.TokenKind(rawValue: raw) else {
                throw TokenizerError(key: "tokenizer.ggml.token_type",
                                     message: "entry \(i) (\"\(tokens[i])\") has unknown type \(raw)")
            }
            kinds.append(kind)
        }

        var tokenBytes: [[UInt8]] = []
        tokenBytes.reserveCapacity(tokens.count)
        var idOfText: [String: Int32] = [:]
        idOfText.reserveCapacity(tokens.count)
        var byteToken = [Int32](repeating: -1, count: 256)
        for (i, text) in tokens.enumerated() {
            let id = Int32(i)
            let bytes: [UInt8]
            switch kinds[i] {
            case .normal, .byte, .unused:
                bytes = ByteSpelling.bytes(of: text)
            case .control, .userDefined, .unknown:
                bytes = Array(text.utf8)
            }
            tokenBytes.append(bytes)
            if idOfText[text] == nil { idOfText[text] = id }
            if kinds[i] == .normal, bytes.count == 1, byteToken[Int(bytes[0])] < 0 {
                byteToken[Int(bytes[0])] = id
            }
        }

        var merges: [UInt64: UInt64] = [:]
        merges.reserveCapacity(mergeRules.count)
        for (rank, rule) in mergeRules.enumerated() {
            let parts = rule.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw TokenizerError(key: "tokenizer.ggml.merges",
                                     message: "entry \(rank) is \"\(rule)\", expected two symbols separated by one space")
            }
            // A rule whose parts or result are not tokens can never fire on token ids.
            guard let left = idOfText[String(parts[0])], let right = idOfText[String(parts[1])],
                  let merged = idOfText[String(parts[0]) + String(parts[1])] else { continue }
            let key = UInt64(UInt32(left)) << 32 | UInt64(UInt32(right))
            if merges[key] == nil { merges[key] = UInt64(rank) << 32 | UInt64(UInt32(merged)) }
        }

        var specials: [(bytes: [UInt8], id: Int32, kind: Tokenizer.TokenKind)] = []
        for i in tokens.indices where !tokenBytes[i].isEmpty {
            switch kinds[i] {
            case .control, .userDefined, .unknown: specials.append((tokenBytes[i], Int32(i), kinds[i]))
            case .normal, .unused, .byte: break
            }
        }
        specials.sort { $0.bytes.count != $1.bytes.count ? $0.bytes.count > $1.bytes.count : $0.id < $1.id }

        let eos = endOfSequenceID.flatMap { $0 >= 0 && $0 < tokens.count ? Int32($0) : nil }
        guard let endOfText = idOfText["<|endoftext|>"] ?? eos else {
            throw TokenizerError(key: "tokenizer.ggml.eos_token_id",
                                 message: "missing, and the vocabulary has no <|endoftext|>")
        }

        self.tokenBytes = tokenBytes
        self.kinds = kinds
        self.byteToken = byteToken
        self.merges = merges
        self.specials = specials
        self.preTokenizer = preTokenizer
        self.endOfTextID = endOfText
        self.endOfTurnID = idOfText["<|im_end|>"] ?? eos ?? endOfText
    }

    enum Fragment {
        case special(Int32)
        case text(Range<Int>)
    }

    /// Splits the text at special tokens the way llama.cpp does: each special token in turn,
    /// longest first, claims all its occurrences in the text not yet claimed.
    func fragments(of text: [UInt8], parseSpecial: Bool) -> [Fragment] {
        var fragments: [Fragment] = text.isEmpty ? [] : [.text(0..<text.count)]
        for special in specials {
            if !parseSpecial && special.kind != .userDefined { continue }
            let needle = special.bytes
            var next: [Fragment] = []
            next.reserveCapacity(fragments.count)
            for fragment in fragments {
                guard case .text(let range) = fragment else { next.append(fragment); continue }
                var start = range.lowerBound
                var i = range.lowerBound
                while i + needle.count <= range.upperBound {
                    if text[i] == needle[0] && text[i..<i + needle.count].elementsEqual(needle) {
                        if i > start { next.append(.text(start..<i)) }
                        next.append(.special(special.id))
                        i += needle.count
                        start = i
                    } else {
                        i += 1
                    }
                }
                if start < range.upperBound { next.append(.text(start..<range.upperBound)) }
            }
            fragments = next
        }
        return fragments
    }
}

/// Byte-pair merging of one word, with llama.cpp's order: always the pair with the lowest
/// rule rank, the leftmost one on ties. A heap of candidate pairs keeps long words
/// (thousands of bytes without a space) at n log n.
private struct BytePairMerger {
    private var ids: [Int32] = []
    private var previous: [Int32] = []
    private var next: [Int32] = []
    private var heap: [Candidate] = []

    private struct Candidate {
        var rank: UInt32
        var left: Int32
        var right: Int32
        var leftID: Int32
        var rightID: Int32
        var merged: Int32

        func before(_ other: Candidate) -> Bool {
            rank != other.rank ? rank < other.rank : left < other.left
        }
    }

    mutating func encode(_ word: ArraySlice<UInt8>, vocabulary: Vocabulary, into output: inout [Int32]) {
        if word.count == 1 {
            let id = vocabulary.byteToken[Int(word.first!)]
            if id >= 0 { output.append(id) }
            return
        }
        let n = word.count
        ids.removeAll(keepingCapacity: true)
        previous.removeAll(keepingCapacity: true)
        next.removeAll(keepingCapacity: true)
        heap.removeAll(keepingCapacity: true)
        for (i, byte) in word.enumerated() {
            ids.append(vocabulary.byteToken[Int(byte)])
            previous.append(Int32(i - 1))
            next.append(i + 1 < n ? Int32(i + 1) : -1)
        }
        for i in 0..<(n - 1) { consider(Int32(i), Int32(i + 1), vocabulary) }

        while let best = popBest() {
            let l = Int(best.left), r = Int(best.right)
            guard ids[l] == best.leftID, ids[r] == best.rightID, next[l] == best.right else { continue }
            ids[l] = best.merged
            ids[r] = -2
            next[l] = next[r]
            if next[l] >= 0 { previous[Int(next[l])] = best.left }
            if previous[l] >= 0 { consider(previous[l], best.left, vocabulary) }
            if next[l] >= 0 { consider(best.left, next[l], vocabulary) }
        }

        var i: Int32 = 0
        while i >= 0 {
            if ids[Int(i)] >= 0 { output.append(ids[Int(i)]) }
            i = next[Int(i)]
        }
    }

    private mutating func consider(_ left: Int32, _ right: Int32, _ vocabulary: Vocabulary) {
        let leftID = ids[Int(left)], rightID = ids[Int(right)]
        guard leftID >= 0, rightID >= 0 else { return }
        let key = UInt64(UInt32(leftID)) << 32 | UInt64(UInt32(rightID))
        guard let merge = vocabulary.merges[key] else { return }
        push(Candidate(rank: UInt32(merge >> 32), left: left, right: right, leftID: leftID, rightID: rightID,
                       merged: Int32(truncatingIfNeeded: merge)))
    }

    private mutating func push(_ candidate: Candidate) {
        heap.append(candidate)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].before(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func popBest() -> Candidate? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var best = parent
                if left < heap.count && heap[left].before(heap[best]) { best = left }
                if right < heap.count && heap[right].before(heap[best]) { best = right }
                if best == parent { break }
                heap.swapAt(parent, best)
                parent = best
            }
        }
        return top
    }
}

/// GPT-2's reversible spelling of bytes as printable characters: the 188 printable bytes
/// (`!`…`~`, `¡`…`¬`, `®`…`ÿ`) stand for themselves, the other 68 are mapped in order to
/// U+0100, U+0101, …
enum ByteSpelling {
    /// Character (scalar value) → byte.
    static let byteOfScalar: [UInt32: UInt8] = {
        var table: [UInt32: UInt8] = [:]
        var shifted: UInt32 = 256
        for byte in 0...255 {
            if isPrintable(UInt8(byte)) {
                table[UInt32(byte)] = UInt8(byte)
            } else {
                table[shifted] = UInt8(byte)
                shifted += 1
            }
        }
        return table
    }()

    static func isPrintable(_ byte: UInt8) -> Bool {
        (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
    }

    /// The bytes a token's text spells. A character outside the table (not produced by
    /// byte-level BPE) stands for its own UTF-8 bytes.
    static func bytes(of text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            if let byte = byteOfScalar[scalar.value] {
                bytes.append(byte)
            } else {
                bytes.append(contentsOf: String(scalar).utf8)
            }
        }
        return bytes
    }
}
