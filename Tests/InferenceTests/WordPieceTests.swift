import Foundation
import Testing
@testable import Inference

/// A vocabulary small enough to know every expected id by heart.
enum HandVocabulary {
    static let tokens = [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]",                     // 0–3
        "cafe", "naive", "un", "##believ", "##able", "zurich",  // 4–9
        "!", ",", "-", ".", "'", "中", "文", "a", "##a", "the", // 10–19
    ]
    static func tokenizer(maximumLength: Int = 256) throws -> WordPieceTokenizer {
        try WordPieceTokenizer(tokens: tokens, maximumLength: maximumLength)
    }
    static func id(_ token: String) -> Int32 { Int32(tokens.firstIndex(of: token)!) }
}

/// The words of a text after normalisation, as strings.
func normalizedWords(_ text: String) -> [String] {
    WordPieceTokenizer.words(text).map { word in
        var s = ""
        s.unicodeScalars.append(contentsOf: word)
        return s
    }
}

@Suite struct WordPieceTests {
    @Test func accentsAreStrippedAndCaseLowered() throws {
        #expect(normalizedWords("CAFÉ Naïve ZÜRICH") == ["cafe", "naive", "zurich"])
        // Already decomposed input: the combining acute is dropped the same way.
        #expect(normalizedWords("Cafe\u{0301}") == ["cafe"])
        // Letters without a decomposition keep their shape; İ loses its dot.
        #expect(normalizedWords("Øre İstanbul ß") == ["øre", "istanbul", "ß"])
        // Kana voicing marks are nonspacing marks too: BERT reads が as か.
        #expect(normalizedWords("ひらがな") == ["ひらかな"])
        let t = try HandVocabulary.tokenizer()
        #expect(t.encode("Café NAÏVE").ids == [2, 4, 5, 3])
    }

    @Test func cjkIdeographsAreSingleWords() throws {
        #expect(normalizedWords("我爱NLP") == ["我", "爱", "nlp"])
        #expect(normalizedWords("ab中文cd") == ["ab", "中", "文", "cd"])
        // Kana, Hangul and the CJK symbols block are not ideographs: they stay in their word.
        #expect(normalizedWords("カタカナ。").count == 2)
        #expect(WordPieceTokenizer.words("한국어").count == 1)
        // The edges of the blocks, as Hugging Face's tokenizer draws them (U+2B820 is not split).
        #expect(normalizedWords("a\u{3400}b\u{2B920}c") == ["a", "\u{3400}", "b", "\u{2B920}", "c"])
        #expect(normalizedWords("a\u{2B820}b") == ["a\u{2B820}b"])
        let t = try HandVocabulary.tokenizer()
        #expect(t.encode("中文").ids == [2, 15, 16, 3])
    }

    @Test func punctuationIsSplitOff() throws {
        #expect(normalizedWords("don't-stop...now$5") == ["don", "'", "t", "-", "stop", ".", ".", ".", "now", "$", "5"])
        #expect(normalizedWords("«quoted»—yes¿") == ["«", "quoted", "»", "—", "yes", "¿"])
        // Non-ASCII symbols are not punctuation.
        #expect(normalizedWords("5€ 3° a+b") == ["5€", "3°", "a", "+", "b"])
        let t = try HandVocabulary.tokenizer()
        #expect(t.encode("Un-believable!").ids == [2, 6, 12, 1, 10, 3])
    }

    @Test func whitespaceAndControlCharactersAreCleaned() throws {
        #expect(normalizedWords("a\u{00A0}b\u{3000}c\td\ne\r\u{2028}f") == ["a", "b", "c", "d", "e", "f"])
        // Format and control characters, NUL and U+FFFD vanish without splitting the word.
        #expect(normalizedWords("x\u{200B}y\u{0000}z\u{FFFD}w\u{0007}v\u{FEFF}u") == ["xyzwvu"])
        #expect(normalizedWords(" \t\n ") == [])
        let t = try HandVocabulary.tokenizer()
        #expect(t.encode("").ids == [2, 3])
        #expect(t.encode("  \u{200B} ") == WordPieceTokenizer.Encoding(ids: [2, 3], truncated: false))
    }

    @Test func greedyLongestMatchFirst() throws {
        let t = try HandVocabulary.tokenizer()
        #expect(t.encode("unbelievable").ids == [2, 6, 7, 8, 3])
        #expect(t.encode("aaa").ids == [2, 17, 18, 18, 3])
        // A word with no complete cut is one [UNK], even when a prefix matched.
        #expect(t.encode("unbelievably the").ids == [2, 1, 19, 3])
        // No backtracking: with "unb" in the vocabulary the greedy cut takes it and then
        // fails on "##elievable", as BERT's tokenizer does.
        let greedy = try WordPieceTokenizer(tokens: HandVocabulary.tokens + ["unb"])
        #expect(greedy.encode("unbelievable").ids == [2, 1, 3])
    }

    @Test func wordsLongerThan100CharactersAreUnknown() throws {
        let t = try HandVocabulary.tokenizer()
        let hundred = t.encode(String(repeating: "a", count: 100))
        #expect(hundred.ids.count == 102)
        #expect(hundred.ids[1] == HandVocabulary.id("a") && hundred.ids[2...100].allSatisfy { $0 == HandVocabulary.id("##a") })
        #expect(t.encode(String(repeating: "a", count: 101)).ids == [2, 1, 3])
        // Characters are counted after normalisation: 101 accented letters become 101 plain ones.
        #expect(t.encode(String(repeating: "á", count: 100)).ids.count == 102)
        #expect(t.encode("the " + String(repeating: "á", count: 101) + " the").ids == [2, 19, 1, 19, 3])
    }

    @Test func truncatedAt256Tokens() throws {
        let t = try HandVocabulary.tokenizer()
        func words(_ n: Int) -> String { Array(repeating: "the", count: n).joined(separator: " ") }
        let fits = t.encode(words(254))
        #expect(fits.ids.count == 256 && !fits.truncated)
        let over = t.encode(words(255))
        #expect(over.ids.count == 256 && over.truncated)
        let long = t.encode(words(1000) + " cafe")
        #expect(long.truncated)
        #expect(long.ids.count == 256)
        #expect(long.ids.first == 2 && long.ids.last == 3)
        #expect(long.ids[1..<255].allSatisfy { $0 == 19 })
        // Word pieces count, not words: 130 words of two pieces each.
        let pieces = t.encode(Array(repeating: "aa", count: 130).joined(separator: " "))
        #expect(pieces.ids.count == 256 && pieces.truncated)

        let short = try HandVocabulary.tokenizer(maximumLength: 5)
        #expect(short.encode("the cafe the") == .init(ids: [2, 19, 4, 19, 3], truncated: false))
        #expect(short.encode("the cafe the cafe") == .init(ids: [2, 19, 4, 19, 3], truncated: true))
        #expect(throws: WordPieceError.self) { try HandVocabulary.tokenizer(maximumLength: 1) }
    }

    @Test func readsAVocabularyFile() throws {
        let text = "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\nhello\r\n##s\r\n"
        try withTemporaryFile(Array(text.utf8)) { path in
            let t = try WordPieceTokenizer(vocabularyPath: path)
            #expect(t.vocabularySize == 6)
            #expect(t.encode("Hellos").ids == [2, 4, 5, 3])
            #expect(t.token(5) == "##s")
            #expect(t.token(6) == nil)
        }
        _ = try withTemporaryFile(Array("[PAD]\n[CLS]\n[SEP]\n".utf8)) { path in
            #expect(throws: WordPieceError(path: path, message: "the vocabulary has no [UNK] token")) {
                try WordPieceTokenizer(vocabularyPath: path)
            }
        }
        #expect(throws: WordPieceError.self) { try WordPieceTokenizer(vocabularyPath: "/nonexistent/vocab.txt") }
    }

    @Test(.enabled(if: MiniLM.enabled, MiniLM.skipReason))
    func referenceSentencesTokenizeExactly() throws {
        let t = try MiniLM.tokenizer()
        #expect(t.vocabularySize == 30522)
        #expect(t.unknownID == 100 && t.classID == 101 && t.separatorID == 102)
        let reference = try MiniLMReference.load()
        #expect(reference.sentences.count == 6)
        var mismatches = 0
        for sentence in reference.sentences {
            let ids = t.encode(sentence.text).ids
            if ids != sentence.ids { mismatches += 1 }
            #expect(ids == sentence.ids, "text: \(sentence.text)")
        }
        print("wordpiece: \(mismatches) of \(reference.sentences.count) reference sentences differ")
    }

    /// 404 random multilingual texts tokenized by an independent implementation (Hugging
    /// Face tokenizers with the model's own tokenizer.json; see the fixture's "source").
    @Test(.enabled(if: MiniLM.enabled, MiniLM.skipReason))
    func randomMultilingualTextsMatchAnIndependentTokenizer() throws {
        let t = try MiniLM.tokenizer()
        struct Fixture: Decodable { struct Case: Decodable { var text: String; var ids: [Int32] }; var cases: [Case] }
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/wordpiece-random.json")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        #expect(fixture.cases.count == 404)
        var mismatches = 0
        for c in fixture.cases {
            let ids = t.encode(c.text).ids
            // The fixture was made without truncation; none of its texts is that long.
            #expect(ids.count <= 256)
            if ids != c.ids {
                mismatches += 1
                Issue.record("text \(c.text.debugDescription): expected \(c.ids), got \(ids)")
            }
        }
        print("wordpiece: \(mismatches) of \(fixture.cases.count) random texts differ from HF tokenizers")
    }
}
