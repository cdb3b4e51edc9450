/// Splits text into the sentences a reader would count, the unit every audit score is
/// computed over.
///
/// Model output is prose, lists and half-finished lines: a line break always ends a sentence
/// (list items and headings are their own units), list markers (`-`, `*`, `•`, `1.`, `2)`)
/// are dropped, and within a line a sentence ends at `.`, `!` or `?` (with any closing quotes
/// or brackets after it) followed by a space and something that can start a sentence. A
/// full stop does not end one after a known abbreviation ("Dr.", "e.g."), an initial ("J."),
/// a dotted acronym ("U.S."), or inside a number ("3.5"). Pieces without a letter or digit
/// (a stray "---") are dropped.
public enum SentenceSplitter {
    /// Lower-cased abbreviations, without their final full stop, after which a full stop
    /// does not end a sentence. "etc." is absent on purpose: it ends sentences as often as not.
    static let abbreviations: Set<String> = [
        "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "vs", "e.g", "i.e", "cf", "al", "approx",
        "no", "fig", "vol", "inc", "ltd", "co", "corp", "gen", "gov", "sen", "rep", "rev", "capt", "col", "lt",
        "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    ]

    public static func split(_ text: String) -> [String] {
        var sentences: [String] = []
        for line in text.split(whereSeparator: \.isNewline) {
            let content = droppingListMarker(Substring(line))
            sentences += splitLine(Array(content))
        }
        return sentences
    }

    /// The line without a leading bullet or enumeration ("- ", "• ", "3. ", "2) ", "(a) ").
    /// A letter counts as a label only with a bracket: "I. think" and "A. Smith" are text.
    static func droppingListMarker(_ line: Substring) -> Substring {
        let rest = line.drop(while: \.isWhitespace)
        if let first = rest.first, "-*•–·".contains(first), rest.dropFirst().first?.isWhitespace == true {
            return rest.dropFirst().drop(while: \.isWhitespace)
        }
        var marker = rest.first == "(" ? rest.dropFirst() : rest
        let digits = marker.prefix(while: \.isNumber)
        let label = digits.isEmpty ? marker.prefix(while: \.isLetter) : digits
        guard (1...3).contains(label.count), digits.isEmpty ? label.count == 1 : true else { return rest }
        marker = marker.dropFirst(label.count)
        guard let close = marker.first, close == ")" || (close == "." && !digits.isEmpty),
              marker.dropFirst().first?.isWhitespace == true else { return rest }
        return marker.dropFirst().drop(while: \.isWhitespace)
    }

    private static let closers: Set<Character> = ["\"", "'", "”", "’", ")", "]", "»"]
    private static let openers: Set<Character> = ["\"", "'", "“", "‘", "(", "[", "«", "¿", "¡"]

    private static func splitLine(_ chars: [Character]) -> [String] {
        var sentences: [String] = []
        var start = 0
        var index = 0
        while index < chars.count {
            let char = chars[index]
            guard char == "." || char == "!" || char == "?" || char == "…" else {
                index += 1
                continue
            }
            var end = index + 1
            while end < chars.count, ".!?…".contains(chars[end]) { end += 1 }
            while end < chars.count, closers.contains(chars[end]) { end += 1 }
            guard end < chars.count, chars[end].isWhitespace else {
                index = end
                continue
            }
            var next = end
            while next < chars.count, chars[next].isWhitespace { next += 1 }
            let startsSentence = next < chars.count
                && (chars[next].isUppercase || chars[next].isNumber || openers.contains(chars[next]) || !chars[next].isLetter && !chars[next].isPunctuation)
            if startsSentence, !(char == "." && end == index + 1 && isAbbreviation(chars, before: index)) {
                append(chars[start..<end], to: &sentences)
                start = next
            }
            index = next
        }
        append(chars[start...], to: &sentences)
        return sentences
    }

    /// Whether the word ending at the full stop at `index` is an abbreviation, an initial or
    /// a dotted acronym.
    private static func isAbbreviation(_ chars: [Character], before index: Int) -> Bool {
        var wordStart = index
        while wordStart > 0, !chars[wordStart - 1].isWhitespace, !openers.contains(chars[wordStart - 1]) { wordStart -= 1 }
        let word = String(chars[wordStart..<index])
        if word.count == 1, let letter = word.first, letter.isUppercase { return true }
        if abbreviations.contains(word.lowercased()) { return true }
        // "U.S", "p.m": single letters joined by full stops.
        let parts = word.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count > 1 && parts.allSatisfy { $0.count == 1 && $0.first!.isLetter }
    }

    private static func append(_ chars: ArraySlice<Character>, to sentences: inout [String]) {
        let text = String(chars).trimmingWhitespace()
        guard text.contains(where: { $0.isLetter || $0.isNumber }) else { return }
        sentences.append(text)
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice = slice.dropFirst() }
        while let last = slice.last, last.isWhitespace { slice = slice.dropLast() }
        return String(slice)
    }
}
