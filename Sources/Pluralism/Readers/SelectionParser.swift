/// Reads which comment a base LM chose in the steerable mode's selection step.
///
/// The original research code took the first digit found anywhere in the reply, so "13" or
/// "2019" or "COVID-19" could select a comment. This parser only accepts a whole number in
/// `1...count` that stands on its own, and prefers numbers the reply marks as its answer.
///
/// The rule, in order:
/// 1. The reply is split into words, digit runs and symbols. A digit run is a *standalone
///    number* unless it is glued to a word ("3D", "H1N1", "COVID-19", "3-year-old"), part of a
///    decimal, thousands group, fraction, range or time ("3.5", "1,000", "2/5", "1-5", "3:30"),
///    a percentage or an amount ("40%", "$3"). Digit runs are read whole: "13" is thirteen,
///    never 1 or 3.
/// 2. Candidates come in three tiers, strongest first:
///    - *named*: a number after a naming word, optionally through connectors ("Comment 3",
///      "passage #3", "Option: 3", "answer is 3", "I choose 3", "Comment No. 3", "Comment3"),
///      after "#" ("#3"), an ordinal before a label ("3rd comment", "the third passage",
///      "second one"), or a spelled-out "one"…"twelve" right after a label ("Comment three");
///    - *positional*: a number leading the reply after only spaces, quotes or markdown
///      ("3", "3.", "**3**", "(3) because…"), enclosed anywhere ("(3)", "[3]", "**3**"), or a
///      spelled-out number that is the whole reply ("Three.");
///    - *bare*: any other standalone number.
///    Spelled-out numbers outside these forms are ordinary English ("no one") and ignored.
///    List markers are not candidates at all: when numbers followed by "." or ")" lead two or
///    more lines, or one line leads with a chain of them ("1. 1. Farmers…"), the reply is a
///    numbered list — small models often echo the comments back this way — and its markers
///    say nothing about the choice. ("1. Comment 3" alone on its line is not a list.)
/// 3. The answer is the first in-range number of the strongest tier that has any number.
///    When that tier is named or positional and all its numbers are out of range, the reply
///    is unparseable (`nil`): the model named a comment that does not exist, and taking some
///    other digit instead would be a stray. Named beats positional so a list marker does not
///    win over the answer it introduces ("1. Comment 3 is closest" → 3).
///
/// `read` adds what only the caller knows: the candidates as the prompt showed them, and
/// whether the reply was cut off at the token cap.
/// 4. **Names win over numbers.** A reply that names exactly one candidate (by a name the
///    prompt showed, or its identifier; case, spaces, hyphens and underscores aside) chose it,
///    whatever number it also holds ("1. social-left: …" is social-left). A line that is the
///    candidate's own list entry echoed at its own number names nothing: that is the list
///    read back, not a choice. Several candidates named: no name is read.
/// 5. **Echoes are not answers.** A line whose first words (five, or as many as the source
///    has; at least three) run on, word for word, in a candidate's text, the item or the
///    attribute is an echo of the prompt: no number is read from it.
/// 6. **Cut-off replies are read cautiously.** When the reply stopped at the token cap, its
///    last word or number may be cut short ("2" from "29") and is not read, bare numbers are
///    not read at all, and a reply that opens with a list marker ("1. Farmers think…") opened
///    a list the cap cut off, so the marker is not an answer either.
///
/// `nil` means the caller must record a fallback.
public enum SelectionParser {
    /// Changes when the reading rules change, so a run's identity follows them (a replayed
    /// reply read by other rules is another result).
    static let version = "2"

    /// A candidate as the prompt showed it.
    public struct Candidate: Sendable, Hashable {
        /// Spellings that name it (its label, its identifier); empty when the prompt showed no
        /// names (steerable comments are anonymous).
        public var names: [String]
        /// What the prompt showed for it: a reply line that repeats it is an echo.
        public var text: String

        public init(names: [String] = [], text: String) {
            self.names = names
            self.text = text
        }
    }

    /// A choice read from a reply.
    public struct Reading: Sendable, Equatable {
        public enum Basis: String, Sendable { case name, number }
        /// 0-based position of the chosen candidate in the list the prompt showed.
        public var position: Int
        public var basis: Basis
        /// The span of the reply the choice was read from ("Comment 3", "social-left").
        public var evidence: String
    }

    /// The chosen comment number in `1...count`, or `nil` when the reply names none (rules
    /// 1–3: a complete reply with anonymous candidates and nothing to echo).
    public static func parse(_ reply: String, count: Int) -> Int? {
        guard count >= 1 else { return nil }
        let candidates = Array(repeating: Candidate(text: ""), count: count)
        return read(reply, candidates: candidates, truncated: false).map { $0.position + 1 }
    }

    /// The candidate a reply chose (rules 1–6), or `nil` when it chose none.
    ///
    /// - Parameters:
    ///   - candidates: in the order the prompt listed them, numbered from 1.
    ///   - echoSources: other text the prompt showed (the item, the attribute).
    ///   - truncated: the reply stopped at the token cap.
    public static func read(_ reply: String, candidates: [Candidate], echoSources: [String] = [],
                            truncated: Bool) -> Reading? {
        let count = candidates.count
        guard count >= 1 else { return nil }
        let tokens = tokenize(reply)
        var end = tokens.count
        if truncated, let last = tokens.lastIndex(where: { $0.word != nil || $0.isDigits }) { end = last }
        let lines = Lines(tokens)
        let markers = listMarkers(tokens)
        let echoes = echoedSources(tokens, lines, sources: candidates.map(\.text) + echoSources)

        if let named = readName(reply, tokens, end: end, lines: lines, echoes: echoes, candidates: candidates) { return named }

        let shape = Shape(tokens)
        var tiers: [[(value: Int, span: Range<String.Index>)]] = [[], [], []]
        for index in 0..<end where !markers.contains(index) && echoes[lines.line[index]] == nil {
            guard let candidate = candidate(tokens, index, shape) else { continue }
            if truncated {
                if candidate.tier == .bare { continue }
                if candidate.tier == .positional, index == shape.leading, isMarkerShaped(tokens, index) { continue }
            }
            tiers[candidate.tier.rawValue].append((candidate.value, candidate.span))
        }
        let valid = 1...count
        for tier in Tier.allCases {
            let numbers = tiers[tier.rawValue]
            if numbers.isEmpty { continue }
            if let answer = numbers.first(where: { valid.contains($0.value) }) {
                return Reading(position: answer.value - 1, basis: .number, evidence: String(reply[answer.span]))
            }
            if tier != .bare { return nil }
        }
        return nil
    }

    enum Tier: Int, CaseIterable { case named, positional, bare }

    /// Where the reply's first word or number is, and how many it has (computed once, so
    /// parsing stays linear in the reply's length).
    struct Shape {
        /// The first token that is not a space or leading decoration.
        var leading: Int?
        /// Words and digit runs in the reply.
        var contentCount: Int

        init(_ tokens: [Token]) {
            leading = tokens.firstIndex { token in
                !(token.isSpace || (token.symbol.map(SelectionParser.leadingDecoration.contains) ?? false))
            }
            contentCount = tokens.count { $0.word != nil || $0.isDigits }
        }
    }

    /// The number the token at `index` stands for, how clearly it is an answer, and the span
    /// that says so (from the naming word, when there is one, to the number).
    static func candidate(_ tokens: [Token], _ index: Int, _ shape: Shape) -> (value: Int, tier: Tier, span: Range<String.Index>)? {
        let own = tokens[index].range
        func from(_ start: Int) -> Range<String.Index> { tokens[start].range.lowerBound..<own.upperBound }
        switch tokens[index].kind {
        case .digits(let value):
            guard let value else { return nil }
            if isDigitOrdinal(tokens, index) {
                guard isFollowedByNamingWord(tokens, index + 1), let label = nextNonSpace(tokens, index + 1) else { return nil }
                return (value, .named, own.lowerBound..<tokens[label].range.upperBound)
            }
            if isGluedToNamingWord(tokens, index) { return (value, .named, from(index - 1)) }
            guard isStandalone(tokens, index) else { return nil }
            if let naming = namingWord(before: tokens, index) { return (value, .named, from(naming)) }
            if index > 0, let hash = previousNonSpace(tokens, index), tokens[hash].symbol == "#" {
                return (value, .named, from(hash))
            }
            if index == shape.leading || isEnclosed(tokens, index) { return (value, .positional, own) }
            return (value, .bare, own)
        case .word(let word):
            if let value = spelledCardinals[word] {
                if let naming = namingWord(before: tokens, index, labelsOnly: true) { return (value, .named, from(naming)) }
                if index == shape.leading, shape.contentCount == 1 { return (value, .positional, own) }
            } else if let value = spelledOrdinals[word], isFollowedByNamingWord(tokens, index),
                      let label = nextNonSpace(tokens, index) {
                return (value, .named, own.lowerBound..<tokens[label].range.upperBound)
            }
            return nil
        case .symbol, .space:
            return nil
        }
    }

    /// A number followed by "." or ")" and then more text: the shape of a list's first entry.
    static func isMarkerShaped(_ tokens: [Token], _ index: Int) -> Bool {
        guard index + 1 < tokens.count, let symbol = tokens[index + 1].symbol, symbol == "." || symbol == ")" else { return false }
        return tokens[(index + 2)...].contains { $0.word != nil || $0.isDigits }
    }

    // MARK: Names

    /// The one candidate the reply names (rule 4), if exactly one is named.
    static func readName(_ reply: String, _ tokens: [Token], end: Int, lines: Lines, echoes: [Int: Set<Int>],
                         candidates: [Candidate]) -> Reading? {
        var found: (position: Int, span: Range<String.Index>)?
        for (position, candidate) in candidates.enumerated() {
            let spellings = candidate.names.map { tokenize($0).compactMap(\.contentText) }.filter { !$0.isEmpty }
            guard !spellings.isEmpty else { continue }
            var start = 0
            search: while start < end {
                for spelling in spellings {
                    guard let last = match(spelling, in: tokens, at: start, end: end) else { continue }
                    let line = lines.line[start]
                    let echoesOther = echoes[line].map { !$0.subtracting([position]).isEmpty } ?? false
                    let echoesInPlace = lines.marker[line] == position + 1
                    if !echoesOther && !echoesInPlace {
                        if let found, found.position != position { return nil }
                        if found == nil { found = (position, tokens[start].range.lowerBound..<tokens[last].range.upperBound) }
                    }
                    start = last + 1
                    continue search
                }
                start += 1
            }
        }
        guard let found else { return nil }
        return Reading(position: found.position, basis: .name, evidence: String(reply[found.span]))
    }

    /// The index of the last token of `spelling` matched at `start` (words separated by one
    /// space, hyphen or underscore), when it stands as a whole name there.
    static func match(_ spelling: [String], in tokens: [Token], at start: Int, end: Int) -> Int? {
        var index = start
        for (offset, word) in spelling.enumerated() {
            if offset > 0 {
                guard index < end, isNameSeparator(tokens[index]) else { return nil }
                index += 1
            }
            guard index < end, tokens[index].contentText == word else { return nil }
            index += 1
        }
        let last = index - 1
        if start >= 2, isNameSeparator(tokens[start - 1]), !tokens[start - 1].isSpace, tokens[start - 2].contentText != nil { return nil }
        if index + 1 < tokens.count, isNameSeparator(tokens[index]), !tokens[index].isSpace, tokens[index + 1].contentText != nil { return nil }
        return last
    }

    private static func isNameSeparator(_ token: Token) -> Bool {
        (token.isSpace && !token.breaksLine) || token.symbol == "-" || token.symbol == "_"
    }

    // MARK: Echoes

    /// Line → the sources (by index) its first words repeat (rule 5); lines that echo nothing
    /// are absent.
    static func echoedSources(_ tokens: [Token], _ lines: Lines, sources: [String]) -> [Int: Set<Int>] {
        let sourceWords = sources.map { tokenize($0).compactMap(\.contentText) }
        guard sourceWords.contains(where: { $0.count >= 3 }) else { return [:] }
        var echoes: [Int: Set<Int>] = [:]
        for (line, range) in lines.ranges.enumerated() {
            var words: [String] = []
            var index = lines.contentStart[line]
            while index < range.upperBound, words.count < 5 {
                if let text = tokens[index].contentText { words.append(text) }
                index += 1
            }
            guard words.count >= 3 else { continue }
            for (source, candidateWords) in sourceWords.enumerated() where candidateWords.count >= 3 {
                if contains(candidateWords, run: Array(words.prefix(candidateWords.count))) {
                    echoes[line, default: []].insert(source)
                }
            }
        }
        return echoes
    }

    private static func contains(_ words: [String], run: [String]) -> Bool {
        guard words.count >= run.count else { return false }
        return (0...(words.count - run.count)).contains { start in
            run.indices.allSatisfy { words[start + $0] == run[$0] }
        }
    }

    /// The reply's lines: which line each token is on, where each line's content starts
    /// (after a leading list marker chain and decoration), and the first marker's number.
    struct Lines {
        var line: [Int] = []
        var ranges: [Range<Int>] = []
        var contentStart: [Int] = []
        var marker: [Int: Int] = [:]

        init(_ tokens: [Token]) {
            var start = 0
            for index in tokens.indices {
                line.append(ranges.count)
                if tokens[index].isSpace && tokens[index].breaksLine {
                    ranges.append(start..<(index + 1))
                    start = index + 1
                }
            }
            ranges.append(start..<tokens.count)
            for (number, range) in ranges.enumerated() {
                var index = range.lowerBound
                while index < range.upperBound {
                    let token = tokens[index]
                    if token.isSpace || token.symbol.map({ SelectionParser.leadingDecoration.contains($0) || $0 == "-" }) == true {
                        index += 1
                    } else if case .digits(let value) = token.kind, index + 1 < range.upperBound,
                              let symbol = tokens[index + 1].symbol, symbol == "." || symbol == ")" {
                        if marker[number] == nil, let value { marker[number] = value }
                        index += 2
                    } else {
                        break
                    }
                }
                contentStart.append(index)
            }
        }
    }

    // MARK: Tokens

    struct Token {
        enum Kind: Equatable {
            /// The value, or nil when it does not fit an Int (never in range anyway).
            case digits(Int?)
            /// Lowercased letters.
            case word(String)
            case symbol(Character)
            case space
        }
        var kind: Kind
        /// Where the token is in the reply.
        var range: Range<String.Index>
        /// For spaces: whether the run of whitespace contains a line break.
        var breaksLine = false

        /// A word (lowercased) or a digit run as written; nil for symbols and spaces.
        var contentText: String? {
            switch kind {
            case .word(let word): word
            case .digits: digitText
            case .symbol, .space: nil
            }
        }
        /// The digits as written (so "03" and "3" stay apart when comparing with a prompt).
        var digitText: String?

        var isSpace: Bool { kind == .space }
        var word: String? { if case .word(let w) = kind { return w } else { return nil } }
        var symbol: Character? { if case .symbol(let s) = kind { return s } else { return nil } }
        var isDigits: Bool { if case .digits = kind { return true } else { return false } }
    }

    static func tokenize(_ text: String) -> [Token] {
        var tokens: [Token] = []
        var current = ""
        var currentStart = text.startIndex
        var currentIsDigits = false

        func flush(at end: String.Index) {
            guard !current.isEmpty else { return }
            let range = currentStart..<end
            if currentIsDigits {
                tokens.append(Token(kind: .digits(Int(current)), range: range, digitText: current))
            } else {
                tokens.append(Token(kind: .word(current.lowercased()), range: range))
            }
            current = ""
        }
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            let next = text.index(after: index)
            if character.isASCII, character.isNumber {
                if !currentIsDigits { flush(at: index) }
                if current.isEmpty { currentStart = index }
                currentIsDigits = true
                current.append(character)
            } else if character.isLetter {
                if currentIsDigits { flush(at: index) }
                if current.isEmpty { currentStart = index }
                currentIsDigits = false
                current.append(character)
            } else {
                flush(at: index)
                if character.isWhitespace {
                    if tokens.last?.isSpace == true {
                        tokens[tokens.count - 1].range = tokens[tokens.count - 1].range.lowerBound..<next
                    } else {
                        tokens.append(Token(kind: .space, range: index..<next))
                    }
                    if character.isNewline { tokens[tokens.count - 1].breaksLine = true }
                } else {
                    tokens.append(Token(kind: .symbol(character), range: index..<next))
                }
            }
            index = next
        }
        flush(at: text.endIndex)
        return tokens
    }

    // MARK: Numbered lists

    /// The indices of list markers ("1." or "2)" leading a line, and any markers chained
    /// right after them), when the reply is a numbered list; empty otherwise.
    static func listMarkers(_ tokens: [Token]) -> Set<Int> {
        var markers: Set<Int> = []
        var markedLines = 0
        var chained = false
        var lineStart = 0
        while lineStart < tokens.count {
            var i = lineStart
            while i < tokens.count, tokens[i].isSpace && !tokens[i].breaksLine
                || tokens[i].symbol.map({ leadingDecoration.contains($0) || $0 == "-" }) == true { i += 1 }
            var chain = 0
            while i + 1 < tokens.count, tokens[i].isDigits, let s = tokens[i + 1].symbol, s == "." || s == ")" {
                var after = i + 2
                while after < tokens.count, tokens[after].symbol == "*" { after += 1 }  // "**1.**"
                let next = after < tokens.count ? tokens[after] : nil
                guard next == nil || next!.isSpace else { break }
                markers.insert(i)
                chain += 1
                i = after
                if let next, next.isSpace, !next.breaksLine { i += 1 } else { break }
            }
            if chain > 0 { markedLines += 1 }
            if chain > 1 { chained = true }
            // The next line starts after the next line break.
            var j = max(i, lineStart + 1)
            while j < tokens.count, !(tokens[j - 1].isSpace && tokens[j - 1].breaksLine) { j += 1 }
            lineStart = j
        }
        return markedLines >= 2 || chained ? markers : []
    }

    // MARK: Standalone numbers

    /// Symbols that join two numbers into one quantity: "3.5", "1,000", "2/5", "1-5", "3:30".
    private static let numberJoiners: Set<Character> = [".", ",", "/", "-", "–", ":", "^"]
    /// Symbols that make a number an amount rather than a label.
    private static let amountSymbols: Set<Character> = ["%", "$", "€", "£", "°"]
    private static let hyphens: Set<Character> = ["-", "–", "_"]
    /// Words that join two numbers into a range: "1 to 6", "18 through 29".
    private static let rangeWords: Set<String> = ["to", "through", "till", "until"]

    static func isStandalone(_ tokens: [Token], _ index: Int) -> Bool {
        let before = index > 0 ? tokens[index - 1] : nil
        let after = index + 1 < tokens.count ? tokens[index + 1] : nil
        let twoBefore = index > 1 ? tokens[index - 2] : nil
        let twoAfter = index + 2 < tokens.count ? tokens[index + 2] : nil

        if before?.word != nil || after?.word != nil { return false }
        if let s = before?.symbol {
            if amountSymbols.contains(s) { return false }
            if numberJoiners.contains(s), twoBefore?.isDigits == true { return false }
            if hyphens.contains(s), twoBefore?.word != nil { return false }
        }
        if let s = after?.symbol {
            if amountSymbols.contains(s) { return false }
            if numberJoiners.contains(s), twoAfter?.isDigits == true { return false }
            if hyphens.contains(s), twoAfter?.word != nil { return false }
        }
        return !isRangeEnd(tokens, index, step: 1) && !isRangeEnd(tokens, index, step: -1)
    }

    /// "1 to 6": a range word between this number and another.
    private static func isRangeEnd(_ tokens: [Token], _ index: Int, step: Int) -> Bool {
        var i = index + step
        var sawWord = false
        while i >= 0, i < tokens.count {
            let token = tokens[i]
            if token.isSpace && !token.breaksLine {
                i += step
                continue
            }
            if !sawWord, let word = token.word, rangeWords.contains(word) {
                sawWord = true
                i += step
                continue
            }
            return sawWord && token.isDigits
        }
        return false
    }

    /// A number glued to a label: "Comment3", "Option2".
    static func isGluedToNamingWord(_ tokens: [Token], _ index: Int) -> Bool {
        guard index > 0, let word = tokens[index - 1].word, labelNouns.contains(word) else { return false }
        let after = index + 1 < tokens.count ? tokens[index + 1] : nil
        return after?.word == nil && !(after?.symbol.map(amountSymbols.contains) ?? false)
    }

    // MARK: Answer forms

    /// Nouns that label the things being chosen ("Comment 3", "Comment three").
    private static let labelNouns: Set<String> = [
        "comment", "passage", "option", "choice", "number", "response", "perspective", "expert",
        "community",
    ]
    /// Words that name the thing being chosen, or introduce the answer ("answer is 3",
    /// "I choose 3"). Not used before spelled-out numbers: "the answer is one that…" and
    /// "hard to pick one" are English, not answers.
    private static let namingWords: Set<String> = labelNouns.union([
        "answer", "selection", "choose", "chose", "select", "selected", "pick", "picked",
    ])
    /// Words and symbols allowed between a naming word and its number.
    private static let connectorWords: Set<String> = ["is", "was", "would", "be", "no", "nr", "number"]
    /// Connectors allowed before a spelled-out number: "Comment no. three", not "answer is one".
    private static let labelConnectorWords: Set<String> = ["no", "nr", "number"]
    private static let connectorSymbols: Set<Character> = [":", "=", "#", "-", "–", ".", "*"]
    /// Symbols that may precede the number leading the reply.
    static let leadingDecoration: Set<Character> = ["*", "\"", "'", "“", "‘", "`", "(", "[", "#", ">", "_"]

    static func isEnclosed(_ tokens: [Token], _ index: Int) -> Bool {
        let before = neighbour(tokens, index, step: -1)?.symbol
        let after = neighbour(tokens, index, step: 1)?.symbol
        return (before == "(" && after == ")") || (before == "[" && after == "]")
            || (before == "*" && after == "*")
    }

    /// The naming word preceding the token, through at most four connectors:
    /// "Comment 3", "Comment #3", "answer is 3", "Comment No. 3", "option: 3".
    static func namingWord(before tokens: [Token], _ index: Int, labelsOnly: Bool = false) -> Int? {
        let names = labelsOnly ? labelNouns : namingWords
        let connectorWords = labelsOnly ? labelConnectorWords : connectorWords
        var i = index - 1
        var connectors = 0
        while i >= 0 {
            let token = tokens[i]
            if token.isSpace {
                i -= 1
                continue
            }
            if let word = token.word {
                if names.contains(word) { return i }
                guard connectorWords.contains(word) else { return nil }
            } else if let symbol = token.symbol {
                guard connectorSymbols.contains(symbol) else { return nil }
                // A period ends a sentence unless it abbreviates "No.".
                if symbol == ".", !(i > 0 && ["no", "nr"].contains(tokens[i - 1].word ?? "")) { return nil }
            } else {
                return nil
            }
            connectors += 1
            if connectors > 4 { return nil }
            i -= 1
        }
        return nil
    }

    static func isFollowedByNamingWord(_ tokens: [Token], _ index: Int) -> Bool {
        guard let next = neighbour(tokens, index, step: 1), let word = next.word else { return false }
        return labelNouns.contains(word) || word == "one"
    }

    /// "3rd", "1st": digits followed directly by an ordinal suffix.
    static func isDigitOrdinal(_ tokens: [Token], _ index: Int) -> Bool {
        guard index + 1 < tokens.count, let suffix = tokens[index + 1].word else { return false }
        return ["st", "nd", "rd", "th"].contains(suffix)
    }

    /// The nearest non-space token in a direction (the word after an ordinal may follow a space).
    static func neighbour(_ tokens: [Token], _ index: Int, step: Int) -> Token? {
        nonSpace(tokens, index, step: step).map { tokens[$0] }
    }

    static func nextNonSpace(_ tokens: [Token], _ index: Int) -> Int? { nonSpace(tokens, index, step: 1) }
    static func previousNonSpace(_ tokens: [Token], _ index: Int) -> Int? { nonSpace(tokens, index, step: -1) }

    private static func nonSpace(_ tokens: [Token], _ index: Int, step: Int) -> Int? {
        var i = index + step
        while i >= 0, i < tokens.count {
            if !tokens[i].isSpace { return i }
            i += step
        }
        return nil
    }

    private static let spelledCardinals: [String: Int] = [
        "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
        "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    ]
    private static let spelledOrdinals: [String: Int] = [
        "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
        "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12,
    ]
}
