// The WordPiece tokenizer of BERT (uncased), as Hugging Face tokenizers runs it for
// all-MiniLM-L6-v2 (BertNormalizer, BertPreTokenizer, WordPiece, [CLS] … [SEP]).
//
//   1. clean: drop NUL, U+FFFD and control characters; every whitespace becomes a space;
//   2. put spaces around CJK ideographs, so each becomes a word of its own;
//   3. strip accents: canonical decomposition (NFD), then drop the nonspacing marks;
//   4. lower-case, character by character;
//   5. split into words at whitespace, and make every punctuation character a word;
//   6. cut each word greedily into the longest vocabulary pieces from the left, pieces
//      after the first spelled with a "##" prefix; a word with no such cut, or longer than
//      100 characters, becomes [UNK].
// Characters are Unicode scalars throughout (as Rust's `char`), not Swift's grapheme
// clusters: a flag or a family emoji is several characters here, as it is for the model.
// Character classes come from Swift's Unicode tables. Run over every code point in "a·b ·",
// this gives Hugging Face's ids for all but 658 of the 1,112,064; those are characters
// added or recategorised after Unicode 8, the version of Hugging Face's own tables.
import Foundation

/// Why a vocabulary file could not be used.
public struct WordPieceError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}

/// A BERT uncased WordPiece tokenizer. Immutable; the vocabulary is shared between copies.
public struct WordPieceTokenizer: Sendable {
    /// The ids of one text, with [CLS] first and [SEP] last.
    public struct Encoding: Sendable, Equatable {
        public var ids: [Int32]
        /// Whether word pieces were dropped to fit `maximumLength`.
        public var truncated: Bool

        public init(ids: [Int32], truncated: Bool) {
            self.ids = ids
            self.truncated = truncated
        }
    }

    /// all-MiniLM-L6-v2's `max_seq_length`: the model was trained on at most 256 tokens,
    /// [CLS] and [SEP] included.
    public static let defaultMaximumLength = 256
    /// Words longer than this many characters are not cut into pieces but become [UNK].
    public static let maximumWordCharacters = 100

    private let vocabulary: [String: Int32]
    private let tokens: [String]
    public let unknownID: Int32
    public let classID: Int32
    public let separatorID: Int32
    /// Tokens per encoding, [CLS] and [SEP] included.
    public let maximumLength: Int

    /// Reads a `vocab.txt`: one token per line, the line number (from 0) is its id.
    public init(vocabularyPath: String, maximumLength: Int = defaultMaximumLength) throws {
        guard let data = FileManager.default.contents(atPath: vocabularyPath) else {
            throw WordPieceError(path: vocabularyPath, message: "cannot read the vocabulary file")
        }
        // Lines end at "\n" bytes, an "\r" before it dropped (a Swift String would take
        // "\r\n" for one character, and other line breaks can be tokens).
        var lines = Array(data).split(separator: 0x0A, omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        var tokens: [String] = []
        tokens.reserveCapacity(lines.count)
        for (number, line) in lines.enumerated() {
            let bytes = line.last == 0x0D ? line.dropLast() : line
            guard let token = String(bytes: bytes, encoding: .utf8) else {
                throw WordPieceError(path: vocabularyPath, message: "line \(number + 1) is not UTF-8 text")
            }
            tokens.append(token)
        }
        try self.init(tokens: tokens, maximumLength: maximumLength, source: vocabularyPath)
    }

    /// A tokenizer over `tokens` (id = index); it must hold [UNK], [CLS] and [SEP]. A token
    /// listed twice takes its last id, as Hugging Face's loader does.
    public init(tokens: [String], maximumLength: Int = defaultMaximumLength, source: String = "vocabulary") throws {
        guard maximumLength >= 2 else {
            throw WordPieceError(path: source, message: "maximum length \(maximumLength) leaves no room for [CLS] and [SEP]")
        }
        guard tokens.count <= Int(Int32.max) else {
            throw WordPieceError(path: source, message: "\(tokens.count) tokens do not fit 32-bit ids")
        }
        var vocabulary: [String: Int32] = [:]
        vocabulary.reserveCapacity(tokens.count)
        for (id, token) in tokens.enumerated() { vocabulary[token] = Int32(id) }
        func special(_ name: String) throws -> Int32 {
            guard let id = vocabulary[name] else { throw WordPieceError(path: source, message: "the vocabulary has no \(name) token") }
            return id
        }
        unknownID = try special("[UNK]")
        classID = try special("[CLS]")
        separatorID = try special("[SEP]")
        self.vocabulary = vocabulary
        self.tokens = tokens
        self.maximumLength = maximumLength
    }

    public var vocabularySize: Int { tokens.count }

    /// The token's text ("##" continuations included), nil outside the vocabulary.
    public func token(_ id: Int32) -> String? {
        id >= 0 && Int(id) < tokens.count ? tokens[Int(id)] : nil
    }

    /// [CLS], the text's word pieces (the first `maximumLength - 2` of them), [SEP].
    public func encode(_ text: String) -> Encoding {
        var pieces: [Int32] = []
        for word in Self.words(text) {
            appendPieces(of: word, to: &pieces)
        }
        let room = maximumLength - 2
        let truncated = pieces.count > room
        if truncated { pieces.removeLast(pieces.count - room) }
        return Encoding(ids: [classID] + pieces + [separatorID], truncated: truncated)
    }

    /// Steps 1–5: the normalised words of a text, each as its Unicode scalars.
    static func words(_ text: String) -> [[Unicode.Scalar]] {
        var cleaned = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar.value == 0 || scalar.value == 0xFFFD || isControl(scalar) { continue }
            if isWhitespace(scalar) {
                cleaned.append(" ")
            } else if isCJK(scalar) {
                cleaned.append(" ")
                cleaned.append(scalar)
                cleaned.append(" ")
            } else {
                cleaned.append(scalar)
            }
        }
        var normalized: [Unicode.Scalar] = []
        normalized.reserveCapacity(cleaned.count)
        // ASCII has nothing to decompose: most texts skip Foundation's NFD.
        let decomposed = cleaned.allSatisfy(\.isASCII)
            ? cleaned : String(cleaned).decomposedStringWithCanonicalMapping.unicodeScalars
        for scalar in decomposed {
            if scalar.isASCII {
                normalized.append(("A"..."Z").contains(scalar) ? Unicode.Scalar(scalar.value + 32)! : scalar)
            } else if scalar.properties.generalCategory == .nonspacingMark {
                continue
            } else if scalar.properties.changesWhenLowercased {
                normalized.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            } else {
                normalized.append(scalar)
            }
        }

        var words: [[Unicode.Scalar]] = []
        var current: [Unicode.Scalar] = []
        for scalar in normalized {
            if isWhitespace(scalar) || isPunctuation(scalar) {
                if !current.isEmpty { words.append(current) }
                current = []
                if isPunctuation(scalar) { words.append([scalar]) }
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// Step 6: greedy longest-match-first pieces of one word, or [UNK].
    func appendPieces(of word: [Unicode.Scalar], to ids: inout [Int32]) {
        guard word.count <= Self.maximumWordCharacters else {
            ids.append(unknownID)
            return
        }
        let mark = ids.count
        var start = 0
        while start < word.count {
            var end = word.count
            var found: Int32?
            while end > start {
                var candidate = start > 0 ? "##" : ""
                candidate.unicodeScalars.append(contentsOf: word[start..<end])
                if let id = vocabulary[candidate] {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else {
                ids.removeLast(ids.count - mark)
                ids.append(unknownID)
                return
            }
            ids.append(id)
            start = end
        }
    }

    /// Control, format and private-use characters, except tab, newline and carriage return,
    /// which count as whitespace. Unassigned code points are kept (and so are read as
    /// [UNK]), as Hugging Face's normaliser keeps them.
    static func isControl(_ s: Unicode.Scalar) -> Bool {
        if s.isASCII { return (s.value < 0x20 && s != "\t" && s != "\n" && s != "\r") || s.value == 0x7F }
        switch s.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse: return true
        default: return false
        }
    }

    /// The Unicode White_Space property (tab, newline and carriage return included).
    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        s.isASCII ? s == " " || (0x09...0x0D).contains(s.value) : s.properties.isWhitespace
    }

    /// ASCII punctuation (which includes symbols such as `$`, `+`, `^`, `|`) and every
    /// character of the Unicode punctuation categories.
    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x21...0x2F, 0x3A...0x40, 0x5B...0x60, 0x7B...0x7E: return true
        case 0..<0x80: return false
        default: break
        }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// The CJK Unified Ideographs blocks BERT splits into single characters (Hangul, kana
    /// and other scripts are not among them: they stay inside words).
    static func isCJK(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
             0x2B740...0x2B81F, 0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }
}
