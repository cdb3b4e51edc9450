// The pre-tokenizer: cuts text into words before byte-pair merging, so that merges never
// cross a word boundary. Models trained with Hugging Face's byte-level BPE define the cut by
// a regular expression; llama.cpp reimplements the common ones by hand, and so do we, over
// Unicode scalars, so that the token ids match llama.cpp's exactly without a regex engine.

/// How a GGUF file's `tokenizer.ggml.pre` says text is cut into words.
public enum PreTokenizer: Sendable, Equatable {
    /// The GPT-2 expression
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
    case gpt2
    /// Every number scalar (`\p{N}`) is a word of its own, then the GPT-2 expression cuts
    /// the text between them. SmolLM, StarCoder and a few other families use it: numbers
    /// are then always spelled digit by digit.
    case digitsThenGPT2

    /// The pre-tokenizer llama.cpp uses for a `tokenizer.ggml.pre` value, or nil when it is
    /// not one of the GPT-2 family implemented here.
    public init?(ggmlName: String) {
        switch ggmlName {
        case "gpt2", "mpt", "olmo", "jais":
            self = .gpt2
        case "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva":
            self = .digitsThenGPT2
        default:
            return nil
        }
    }

    /// The words of `text`, as UTF-8 byte ranges of it, in order. Together they cover the
    /// text exactly.
    func split(_ text: [UInt8]) -> [Range<Int>] {
        let scalars = ScalarTable(utf8: text)
        var words: [Range<Int>] = []
        words.reserveCapacity(text.count / 3 + 1)
        switch self {
        case .gpt2:
            splitGPT2(scalars, 0..<scalars.count, into: &words)
        case .digitsThenGPT2:
            var start = 0
            for i in 0..<scalars.count where scalars.kind[i] == .number {
                splitGPT2(scalars, start..<i, into: &words)
                words.append(scalars.byteRange(i..<i + 1))
                start = i + 1
            }
            splitGPT2(scalars, start..<scalars.count, into: &words)
        }
        return words
    }

    /// The GPT-2 expression over the scalars `segment`, as llama.cpp's hand-written version
    /// evaluates it: look-ahead never sees past the segment's end.
    private func splitGPT2(_ s: ScalarTable, _ segment: Range<Int>, into words: inout [Range<Int>]) {
        let end = segment.upperBound
        var wordStart = segment.lowerBound
        var pos = segment.lowerBound
        func emit(_ upTo: Int) {
            if upTo > wordStart { words.append(s.byteRange(wordStart..<upTo)) }
            wordStart = upTo
        }
        /// The kind of the scalar at `i`, or nil past the segment.
        func kind(_ i: Int) -> ScalarKind? { i < end ? s.kind[i] : nil }

        while pos < end {
            let scalar = s.value[pos]
            // 's 't 're 've 'm 'll 'd (case-sensitive, as in GPT-2)
            if scalar == 0x27, pos + 1 < end {
                let next = s.value[pos + 1]
                if next == 0x73 || next == 0x74 || next == 0x6D || next == 0x64 {  // s t m d
                    pos += 2; emit(pos); continue
                }
                if pos + 2 < end {
                    let after = s.value[pos + 2]
                    if (next == 0x72 && after == 0x65) || (next == 0x76 && after == 0x65)  // re ve
                        || (next == 0x6C && after == 0x6C) {  // ll
                        pos += 3; emit(pos); continue
                    }
                }
            }
            // An optional leading space joins the letters, numbers or symbols after it.
            let isSpace = scalar == 0x20
            let leading = isSpace ? kind(pos + 1) : s.kind[pos]
            if let run = leading, run != .whitespace {
                if isSpace { pos += 1 }
                while kind(pos) == run { pos += 1 }
                emit(pos)
                continue
            }
            var spaces = 0
            while kind(pos + spaces) == .whitespace { spaces += 1 }
            if spaces > 1 && pos + spaces < end {
                // \s+(?!\S): a run of spaces before a word leaves its last one to the word.
                pos += spaces - 1
            } else if spaces > 0 {
                pos += spaces
            } else {
                pos += 1
            }
            emit(pos)
        }
    }
}

/// The classes the GPT-2 expression distinguishes. `other` is `[^\s\p{L}\p{N}]`.
enum ScalarKind: UInt8 {
    case letter, number, whitespace, other

    init(_ scalar: Unicode.Scalar) {
        if scalar.value < 0x80 {
            self = ScalarKind.ascii[Int(scalar.value)]
            return
        }
        let properties = scalar.properties
        if properties.isWhitespace { self = .whitespace; return }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            self = .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            self = .number
        default:
            self = .other
        }
    }

    private static let ascii: [ScalarKind] = (0..<128).map { value -> ScalarKind in
        switch UInt8(value) {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"): .letter
        case UInt8(ascii: "0")...UInt8(ascii: "9"): .number
        case 0x09...0x0D, 0x20: .whitespace
        default: .other
        }
    }
}

/// The text's scalars with their kinds and the byte offset where each starts.
struct ScalarTable {
    var value: [UInt32] = []
    var kind: [ScalarKind] = []
    /// `offset[i]` is the first byte of scalar `i`; `offset[count]` is the text's length.
    var offset: [Int] = []

    var count: Int { value.count }

    init(utf8 bytes: [UInt8]) {
        value.reserveCapacity(bytes.count)
        kind.reserveCapacity(bytes.count)
        offset.reserveCapacity(bytes.count + 1)
        var i = 0
        while i < bytes.count {
            let (scalar, length) = Self.decode(bytes, at: i)
            value.append(scalar.value)
            kind.append(ScalarKind(scalar))
            offset.append(i)
            i += length
        }
        offset.append(bytes.count)
    }

    func byteRange(_ scalars: Range<Int>) -> Range<Int> {
        offset[scalars.lowerBound]..<offset[scalars.upperBound]
    }

    /// Decodes one scalar. The input comes from a Swift `String`, so it is valid UTF-8;
    /// a malformed byte would be read as U+FFFD of length 1.
    private static func decode(_ b: [UInt8], at i: Int) -> (Unicode.Scalar, Int) {
        let lead = b[i]
        if lead < 0x80 { return (Unicode.Scalar(lead), 1) }
        let length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
        guard length > 1, i + length <= b.count else { return ("\u{FFFD}", 1) }
        var value = UInt32(lead) & (0x7F >> UInt32(length))
        for k in 1..<length { value = value << 6 | UInt32(b[i + k] & 0x3F) }
        return (Unicode.Scalar(value) ?? "\u{FFFD}", length)
    }
}
