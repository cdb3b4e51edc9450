import Foundation
import Testing
@testable import Inference

/// The real model's tokenizer, loaded once for all tests. Its tests skip when the file is
/// absent (not under CI=true); a file that does not load fails them.
enum SmolLM2Tokenizer {
    static var available: Bool { RealModel.enabled }
    static let skipReason = RealModel.skipReason
    private static let loaded = Result { try Tokenizer(gguf: GGUFFile(path: RealModel.path())) }
    static func load() throws -> Tokenizer { try loaded.get() }
}

/// The token ids llama.cpp gives for the reference texts and prompts (copied from
/// /work/shared/reference/smollm2-exact.json).
struct TokenizerReference: Decodable {
    struct Text: Decodable { var text: String; var ids: [Int32] }
    struct Prompt: Decodable { var prompt: String; var ids: [Int32]; var system: String?; var user: String? }
    var texts: [Text]
    var prompts: [Prompt]

    static let shared: TokenizerReference = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/tokenizer-reference.json")
        let data = try! Data(contentsOf: url)
        return try! JSONDecoder().decode(TokenizerReference.self, from: data)
    }()
}

@Suite struct TokenizerTests {
    // MARK: Against llama.cpp

    @Test(.enabled(if: SmolLM2Tokenizer.available, SmolLM2Tokenizer.skipReason))
    func referenceTextsTokenizeExactly() throws {
        let tokenizer = try SmolLM2Tokenizer.load()
        #expect(TokenizerReference.shared.texts.count == 16)
        for reference in TokenizerReference.shared.texts {
            #expect(tokenizer.encode(reference.text) == reference.ids, "text: \(reference.text.debugDescription)")
            #expect(tokenizer.decode(reference.ids) == reference.text)
        }
    }

    @Test(.enabled(if: SmolLM2Tokenizer.available, SmolLM2Tokenizer.skipReason))
    func referencePromptsWithSpecialTokensTokenizeExactly() throws {
        let tokenizer = try SmolLM2Tokenizer.load()
        #expect(TokenizerReference.shared.prompts.count == 6)
        for reference in TokenizerReference.shared.prompts {
            #expect(tokenizer.encode(reference.prompt, parseSpecial: true) == reference.ids,
                    "prompt: \(reference.prompt.debugDescription)")
        }
    }

    /// 300 random multilingual texts tokenized by an independent implementation (Hugging
    /// Face tokenizers, configured as SmolLM2's tokenizer.json; see the fixture's "source").
    @Test(.enabled(if: SmolLM2Tokenizer.available, SmolLM2Tokenizer.skipReason))
    func randomMultilingualTextsMatchAnIndependentTokenizer() throws {
        let tokenizer = try SmolLM2Tokenizer.load()
        struct Fixture: Decodable { struct Case: Decodable { var text: String; var ids: [Int32] }; var cases: [Case] }
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/tokenizer-random.json")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        #expect(fixture.cases.count == 300)
        for c in fixture.cases {
            #expect(tokenizer.encode(c.text) == c.ids, "text: \(c.text.debugDescription)")
        }
    }

    @Test(.enabled(if: SmolLM2Tokenizer.available, SmolLM2Tokenizer.skipReason))
    func vocabularyFacts() throws {
        let tokenizer = try SmolLM2Tokenizer.load()
        #expect(tokenizer.vocabularySize == 49152)
        #expect(tokenizer.endOfTextID == 0)
        #expect(tokenizer.endOfTurnID == 2)
        #expect(tokenizer.specialTokenID("<|im_start|>") == 1)
        #expect(tokenizer.kind(of: 1) == .control)
        #expect(tokenizer.kind(of: 198) == .normal)
        #expect(tokenizer.piece(2) == "<|im_end|>")
        #expect(tokenizer.bytes(of: 198) == [0x0A])
        #expect(tokenizer.bytes(of: 216) == [0x20])
        #expect(tokenizer.bytes(of: -1).isEmpty && tokenizer.bytes(of: 49152).isEmpty)
        #expect(tokenizer.kind(of: 49152) == nil)
    }

    // MARK: Edge cases on the real vocabulary

    @Test(.enabled(if: SmolLM2Tokenizer.available, SmolLM2Tokenizer.skipReason))
    func digitRunsAreSpelledDigitByDigit() throws {
        let tokenizer = try SmolLM2Tokenizer.load()
        let digits = "0123456789".map { tokenizer.encode(String($0)) }
        #expect(digits.allSatisfy { $0.count == 1 })
        let ids = tokenizer.encode("9876543210")
        #expect(ids == "9876543210".map { tokenizer.encode(String($0))[0] })
        // A space before a number stays a token of its own; other numerals are split too.
        #expect(tokenizer.encode(" 42") == [216] + tokenizer.encode("4") + tokenizer.encode("2"))
        #expect(tokenizer.decode(tokenizer.encode("x²³ ٣٤ Ⅻ")) == "x²³ ٣٤ Ⅻ")
    }

    @Test(.enabled(if: SmolLM2Tokenizer.available, SmolLM2Tokenizer.skipReason))
    func whitespaceRuns() throws {
        let tokenizer = try SmolLM2Tokenizer.load()
        // "a" then a run of spaces before a word: the last space joins the word.
        let ids = tokenizer.encode("a    b")
        #expect(tokenizer.decode(Array(ids.suffix(1))) == " b")
        #expect(tokenizer.decode(ids) == "a    b")
        // Trailing whitespace stays one run.
        #expect(tokenizer.encode("x   ").count == 2)
        for text in ["\n", "\n\n\n\n", " \t \n ", "\r\n", "\u{00A0}x\u{3000}y", "   "] {
            #expect(tokenizer.decode(tokenizer.encode(text)) == text, "text: \(text.debugDescription)")
        }
    }

    @Test(.enabled(if: SmolLM2Tokenizer.available, SmolLM2Tokenizer.skipReason))
    func specialTokensInText() throws {
        let tokenizer = try SmolLM2Tokenizer.load()
        let text = "before<|im_end|>after<|endoftext|><|im_start|>"
        let parsed = tokenizer.encode(text, parseSpecial: true)
        #expect(parsed == tokenizer.encode("before") + [2] + tokenizer.encode("after") + [0, 1])
        #expect(tokenizer.decode(parsed) == text)
        let plain = tokenizer.encode(text, parseSpecial: false)
        #expect(plain.allSatisfy { $0 >= 17 })
        #expect(tokenizer.decode(plain) == text)
        // A near miss is ordinary text.
        #expect(tokenizer.encode("<|im_end|", parseSpecial: true).allSatisfy { $0 >= 17 })
        #expect(tokenizer.encode("<|im_end|><|im_end|>") == [2, 2])
    }

    @Test(.enabled(if: SmolLM2Tokenizer.available, SmolLM2Tokenizer.skipReason))
    func emptyAndSingleCharacterTexts() throws {
        let tokenizer = try SmolLM2Tokenizer.load()
        #expect(tokenizer.encode("").isEmpty)
        #expect(tokenizer.decode([]) == "")
        #expect(tokenizer.encode("a") == [81])
        #expect(tokenizer.encode(" ") == [216])
    }

    @Test(.enabled(if: SmolLM2Tokenizer.available, SmolLM2Tokenizer.skipReason))
    func roundTripsTexts() throws {
        let tokenizer = try SmolLM2Tokenizer.load()
        let samples = [
            "naïve café résumé — Ångström, Øresund, Œuvre, ß",
            "日本語のテキスト、中文文本，한국어 텍스트",
            "emoji 🙂🎉👩‍👩‍👧‍👦 🇫🇷 flags and ZWJ",
            "Ελληνικά, Русский, עברית, العربية, हिन्दी, ไทย",
            "combining: e\u{301} a\u{308} n\u{303}",
            "code: func f(_ x: Int) -> Int { return x &* 2 } // ok?",
            "It's we'd they'LL I'M 'tis ''' '",
            "$1,234.56 + 7% = ~1,321.02; 1e-9 0x1F",
            "tabs\t\tand\u{000B}vertical\u{000C}feeds\r\nwindows",
            "\u{FEFF}BOM and private use \u{E000} and max \u{10FFFF}",
            String(repeating: "abc", count: 300),
            String(repeating: "🙂", count: 50),
        ]
        for text in samples {
            #expect(tokenizer.decode(tokenizer.encode(text)) == text, "text: \(text.debugDescription)")
            #expect(tokenizer.decode(tokenizer.encode(text, parseSpecial: false)) == text)
        }
    }

    @Test(.enabled(if: SmolLM2Tokenizer.available, SmolLM2Tokenizer.skipReason))
    func roundTripsRandomUnicode() throws {
        let tokenizer = try SmolLM2Tokenizer.load()
        // Scalars of every UTF-8 length, except what this vocabulary has no bytes for: six
        // ASCII control characters (0x04 0x06 0x13 0x14 0x16 0x1D) and the unassigned planes
        // 4–11, whose lead bytes 0xF1 and 0xF2 have no token.
        let unspellable: Set<UInt32> = [0x04, 0x06, 0x13, 0x14, 0x16, 0x1D]
        let ranges: [ClosedRange<UInt32>] = [0x00...0x7F, 0x80...0x7FF, 0x800...0xD7FF, 0xE000...0xFFFF,
                                             0x10000...0x3FFFF, 0xC0000...0x10FFFF]
        var random = SeededRandom(seed: 7)
        for _ in 0..<300 {
            var text = ""
            let length = Int(random.next() % 40)
            while text.unicodeScalars.count < length {
                let range = ranges[Int(random.next() % UInt64(ranges.count))]
                let value = range.lowerBound + UInt32(random.next() % UInt64(range.count))
                guard !unspellable.contains(value), let scalar = Unicode.Scalar(value) else { continue }
                text.unicodeScalars.append(scalar)
            }
            let ids = tokenizer.encode(text, parseSpecial: false)
            #expect(tokenizer.decode(ids) == text, "text: \(text.debugDescription)")
            var stream = StreamingDecoder(tokenizer: tokenizer)
            var streamed = ""
            for id in ids { streamed += stream.append(id) }
            streamed += stream.flush()
            #expect(streamed == text)
        }
    }

    /// Random token sequences (many of them invalid UTF-8: a model can emit any ids): the
    /// streamed text always equals the whole-sequence decode.
    @Test(.enabled(if: SmolLM2Tokenizer.available, SmolLM2Tokenizer.skipReason))
    func streamingEqualsWholeDecodeForAnyTokens() throws {
        let tokenizer = try SmolLM2Tokenizer.load()
        // Single-byte tokens (ids 17…251) make broken sequences likely.
        var random = SeededRandom(seed: 99)
        for _ in 0..<500 {
            let ids = (0..<Int(random.next() % 24)).map { _ -> Int32 in
                random.next() % 2 == 0 ? Int32(17 + random.next() % 235) : Int32(random.next() % 49152)
            }
            var stream = StreamingDecoder(tokenizer: tokenizer)
            var streamed = ""
            for id in ids { streamed += stream.append(id) }
            streamed += stream.flush()
            #expect(streamed == tokenizer.decode(ids), "ids: \(ids)")
        }
    }

    @Test(.enabled(if: SmolLM2Tokenizer.available, SmolLM2Tokenizer.skipReason))
    func unspellableControlBytesAreDroppedLikeLlamaCpp() throws {
        let tokenizer = try SmolLM2Tokenizer.load()
        #expect(tokenizer.decode(tokenizer.encode("a\u{04}b")) == "ab")
        // U+50000 is F1 90 80 80: the lead byte has no token, the continuation bytes do.
        #expect(tokenizer.decode(tokenizer.encode("a\u{50000}b")) == "a\u{FFFD}\u{FFFD}\u{FFFD}b")
    }

    @Test(.enabled(if: SmolLM2Tokenizer.available, SmolLM2Tokenizer.skipReason))
    func streamingDecoderHoldsSplitEmoji() throws {
        let tokenizer = try SmolLM2Tokenizer.load()
        // From the reference text "emoji 🙂🎉": "🎉" is spelled by three tokens, the first
        // holding two of its four bytes.
        let ids: [Int32] = [33777, 47526, 10813, 232, 227]  // "oji", " 🙂", F0 9F, 8E, 89
        #expect(tokenizer.decode(ids) == "oji 🙂🎉")
        #expect(tokenizer.piece(10813) == "\u{FFFD}")
        var stream = StreamingDecoder(tokenizer: tokenizer)
        #expect(ids.map { stream.append($0) } == ["oji", " 🙂", "", "", "🎉"])
        #expect(stream.flush() == "")
        // A character cut off at the end comes out of flush as a replacement character.
        var cut = StreamingDecoder(tokenizer: tokenizer)
        #expect(cut.append(10813) == "")
        #expect(cut.append(232) == "")
        #expect(cut.flush() == "\u{FFFD}")
        #expect(cut.flush() == "")
    }

    @Test(.enabled(if: SmolLM2Tokenizer.available, SmolLM2Tokenizer.skipReason))
    func encodingSpeed() throws {
        let tokenizer = try SmolLM2Tokenizer.load()
        let paragraph = TokenizerReference.shared.texts.map(\.text).joined(separator: " ")
            + " The committee weighed the community's concerns about fairness, safety and autonomy. "
        let text = String(repeating: paragraph, count: 400)
        let clock = ContinuousClock()
        let file = try GGUFFile(path: RealModel.path())
        let load = try clock.measure { _ = try Tokenizer(gguf: file) }
        print("tokenizer: built from the GGUF metadata in \(load)")
        var count = 0
        let elapsed = clock.measure { count = tokenizer.encode(text).count }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        print("tokenizer: \(text.utf8.count) bytes → \(count) tokens in \(String(format: "%.3f", seconds)) s"
              + " (\(Int(Double(count) / seconds)) tokens/s)")
        #expect(count > 10_000)
    }

    // MARK: Without the model: a small hand-made vocabulary

    /// Tokens in GPT-2 byte spelling: "Ġ" is the space byte.
    static func tinyTokenizer() throws -> Tokenizer {
        var tokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
        for byte in 0...255 where ByteSpelling.isPrintable(UInt8(byte)) || byte == 0x20 || byte == 0x0A {
            tokens.append(byte == 0x20 ? "Ġ" : byte == 0x0A ? "Ċ" : String(Unicode.Scalar(UInt8(byte))))
        }
        let merges = ["a b", "b c", "ab c", "Ġ a", "Ġa b", "c c"]
        tokens += ["ab", "bc", "abc", "Ġa", "Ġab", "cc"]
        return try Tokenizer(tokens: tokens, tokenTypes: [3, 3, 3] + Array(repeating: 1, count: tokens.count - 3),
                             merges: merges, preTokenizer: .digitsThenGPT2)
    }

    @Test func mergesFollowRankThenLeftmost() throws {
        let t = try Self.tinyTokenizer()
        func spell(_ text: String) -> [String] { t.encode(text).map { t.piece($0) } }
        #expect(spell("abc") == ["abc"])              // "a b" (rank 0) first, then "ab c"
        #expect(spell("bc") == ["bc"])
        #expect(spell("ccc") == ["cc", "c"])           // leftmost pair wins a tie
        #expect(spell(" abc") == [" ", "abc"])          // "a b" (rank 0) beats the leftmost " a" (rank 3)
        #expect(spell("x abc") == ["x", " ", "abc"])
        #expect(spell(" a") == [" a"])
        #expect(spell(" ab") == [" ", "ab"])
        #expect(spell("ab12") == ["ab", "1", "2"])
        #expect(spell("<|im_start|>abc") == ["<|im_start|>", "abc"])
        #expect(t.encode("<|im_start|>", parseSpecial: false).count == 12)
        #expect(t.endOfTurnID == 2 && t.endOfTextID == 0)
    }

    @Test func longWordsMergeInLinearithmicTime() throws {
        let t = try Self.tinyTokenizer()
        let text = String(repeating: "abc", count: 20_000)
        let ids = t.encode(text)
        #expect(ids.count == 20_000)
        #expect(t.decode(ids) == text)
    }

    @Test func rejectsMalformedMetadata() {
        #expect(throws: TokenizerError.self) {
            try Tokenizer(tokens: ["a", "b"], tokenTypes: [1], merges: [])
        }
        #expect(throws: TokenizerError(key: "tokenizer.ggml.merges",
                                       message: "entry 0 is \"ab\", expected two symbols separated by one space")) {
            try Tokenizer(tokens: ["a", "b", "<|endoftext|>"], tokenTypes: nil, merges: ["ab"])
        }
        #expect(throws: TokenizerError.self) {
            try Tokenizer(tokens: ["a", "b", "<|endoftext|>"], tokenTypes: [1, 9, 3], merges: [])
        }
    }

    /// A GGUF file with only tokenizer metadata, written to a temporary path.
    static func tokenizerFile(model: String, pre: String?) throws -> GGUFFile {
        var b = GGUFBuilder()
        b.bytes += Array("GGUF".utf8)
        b.u32(3)
        b.u64(0)                                  // tensors
        b.u64(pre == nil ? 3 : 4)                 // metadata
        b.string("tokenizer.ggml.model"); b.u32(8); b.string(model)
        if let pre { b.string("tokenizer.ggml.pre"); b.u32(8); b.string(pre) }
        b.string("tokenizer.ggml.tokens"); b.u32(9); b.u32(8); b.u64(3)
        b.string("<|endoftext|>"); b.string("a"); b.string("b")
        b.string("tokenizer.ggml.merges"); b.u32(9); b.u32(8); b.u64(1); b.string("a b")
        let path = NSTemporaryDirectory() + "tokenizer-\(UUID().uuidString).gguf"
        try Data(b.bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try GGUFFile(path: path)
    }

    @Test func readsATokenizerFromGGUFMetadata() throws {
        let t = try Tokenizer(gguf: Self.tokenizerFile(model: "gpt2", pre: "smollm"))
        #expect(t.vocabularySize == 3)
        #expect(t.encode("ab") == [1, 2])   // "ab" is no token: the merge cannot fire
        #expect(t.endOfTextID == 0)
    }

    @Test func rejectsTokenizersItDoesNotImplement() throws {
        #expect(throws: TokenizerError(key: "tokenizer.ggml.model",
                                       message: "found \"llama\"; only byte-level BPE (\"gpt2\") is supported")) {
            try Tokenizer(gguf: Self.tokenizerFile(model: "llama", pre: "default"))
        }
        #expect(throws: TokenizerError(key: "tokenizer.ggml.pre",
                                       message: "found \"llama-bpe\"; supported: smollm and the GPT-2 family")) {
            try Tokenizer(gguf: Self.tokenizerFile(model: "gpt2", pre: "llama-bpe"))
        }
        do {
            _ = try Tokenizer(gguf: Self.tokenizerFile(model: "gpt2", pre: nil))
            Issue.record("a file without tokenizer.ggml.pre must be refused")
        } catch let error as TokenizerError {
            #expect(error.key == "tokenizer.ggml.pre")
            #expect(error.description.contains("missing"))
        }
    }

    @Test func byteSpellingCoversAllBytesOnce() {
        var seen = Set<UInt8>()
        for (scalar, byte) in ByteSpelling.byteOfScalar {
            #expect(scalar < 0x100 ? UInt32(byte) == scalar : scalar <= 0x143)
            seen.insert(byte)
        }
        #expect(seen.count == 256)
        #expect(ByteSpelling.bytes(of: "Ġhello") == Array(" hello".utf8))
        #expect(ByteSpelling.bytes(of: "Ċ") == [0x0A])
        #expect(ByteSpelling.bytes(of: "ðŁĻĤ") == Array("🙂".utf8))
    }

    // MARK: Pre-tokenizer (llama.cpp's split, worked out by hand from its expression)

    static func words(_ text: String, _ pre: PreTokenizer = .digitsThenGPT2) -> [String] {
        let bytes = Array(text.utf8)
        return pre.split(bytes).map { String(decoding: bytes[$0], as: UTF8.self) }
    }

    @Test func preTokenizerSplits() {
        #expect(Self.words("Hello world") == ["Hello", " world"])
        #expect(Self.words("In 2024, x") == ["In", " ", "2", "0", "2", "4", ",", " x"])
        #expect(Self.words("In 2024, x", .gpt2) == ["In", " 2024", ",", " x"])
        #expect(Self.words("  leading and trailing   ") == [" ", " leading", " and", " trailing", "   "])
        #expect(Self.words("a\n\n\nb") == ["a", "\n\n", "\n", "b"])
        #expect(Self.words("Don't we'll I'M") == ["Don", "'t", " we", "'ll", " I", "'", "M"])
        #expect(Self.words("!!!???... ok") == ["!!!???...", " ok"])
        #expect(Self.words("naïve 日本語") == ["naïve", " 日本語"])
        #expect(Self.words("🙂🎉 ©") == ["🙂🎉", " ©"])
        #expect(Self.words("x\t y") == ["x", "\t", " y"])
        #expect(Self.words("x²y") == ["x", "²", "y"])
        #expect(Self.words("") == [])
        #expect(Self.words(" ") == [" "])
        #expect(Self.words("a \u{00A0}b") == ["a", " ", "\u{00A0}", "b"])
    }

    @Test func preTokenizerNames() {
        #expect(PreTokenizer(ggmlName: "smollm") == .digitsThenGPT2)
        #expect(PreTokenizer(ggmlName: "gpt2") == .gpt2)
        #expect(PreTokenizer(ggmlName: "llama-bpe") == nil)
    }

    @Test func incompleteUTF8Suffixes() {
        let smile = Array("🙂".utf8)
        #expect(UTF8Tail.incompleteSuffixLength(Array("abc".utf8)) == 0)
        #expect(UTF8Tail.incompleteSuffixLength([0x61] + smile.prefix(1)) == 1)
        #expect(UTF8Tail.incompleteSuffixLength([0x61] + smile.prefix(3)) == 3)
        #expect(UTF8Tail.incompleteSuffixLength(smile) == 0)
        #expect(UTF8Tail.incompleteSuffixLength([0xC3]) == 1)
        #expect(UTF8Tail.incompleteSuffixLength([0xE0, 0x80]) == 0)   // overlong: never valid
        #expect(UTF8Tail.incompleteSuffixLength([0xFF]) == 0)
        #expect(UTF8Tail.incompleteSuffixLength([0x80, 0x80]) == 0)
    }
}
