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
/// `nil` means the caller must record a fallback.
public enum SelectionParser {
    /// The chosen comment number in `1...count`, or `nil` when the reply names none.
    public static func parse(_ reply: String, count: Int) -> Int? {
        guard count >= 1 else { return nil }
        let tokens = tokenize(reply)
        let markers = listMarkers(tokens)
        let shape = Shape(tokens)
        var tiers: [[Int]] = [[], [], []]
        for index in tokens.indices where !markers.contains(index) {
            if let candidate = candidate(tokens, index, shape) {
                tiers[candidate.tier.rawValue].append(candidate.value)
            }
        }
        let valid = 1...count
        for tier in Tier.allCases {
            let numbers = tiers[tier.rawValue]
            if numbers.isEmpty { continue }
            if let answer = numbers.first(where: valid.contains) { return answer }
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

    /// The number the token at `index` stands for, and how clearly it is an answer.
    static func candidate(_ tokens: [Token], _ index: Int, _ shape: Shape) -> (value: Int, tier: Tier)? {
        switch tokens[index].kind {
        case .digits(let value):
            guard let value else { return nil }
            if isDigitOrdinal(tokens, index) {
                return isFollowedByNamingWord(tokens, index + 1) ? (value, .named) : nil
            }
            if isGluedToNamingWord(tokens, index) { return (value, .named) }
            guard isStandalone(tokens, index) else { return nil }
            if followsNamingWord(tokens, index) || neighbour(tokens, index, step: -1)?.symbol == "#" {
                return (value, .named)
            }
            if index == shape.leading || isEnclosed(tokens, index) { return (value, .positional) }
            return (value, .bare)
        case .word(let word):
            if let value = spelledCardinals[word] {
                if followsNamingWord(tokens, index, labelsOnly: true) { return (value, .named) }
                if index == shape.leading, shape.contentCount == 1 { return (value, .positional) }
            } else if let value = spelledOrdinals[word], isFollowedByNamingWord(tokens, index) {
                return (value, .named)
            }
            return nil
        case .symbol, .space:
            return nil
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
        /// For spaces: whether the run of whitespace contains a line break.
        var breaksLine = false

        var isSpace: Bool { kind == .space }
        var word: String? { if case .word(let w) = kind { return w } else { return nil } }
        var symbol: Character? { if case .symbol(let s) = kind { return s } else { return nil } }
        var isDigits: Bool { if case .digits = kind { return true } else { return false } }
    }

    static func tokenize(_ text: String) -> [Token] {
        var tokens: [Token] = []
        var current = ""
        var currentIsDigits = false

        func flush() {
            guard !current.isEmpty else { return }
            tokens.append(Token(kind: currentIsDigits ? .digits(Int(current)) : .word(current.lowercased())))
            current = ""
        }
        for character in text {
            if character.isASCII, character.isNumber {
                if !currentIsDigits { flush() }
                currentIsDigits = true
                current.append(character)
            } else if character.isLetter {
                if currentIsDigits { flush() }
                currentIsDigits = false
                current.append(character)
            } else {
                flush()
                if character.isWhitespace {
                    if tokens.last?.isSpace != true { tokens.append(Token(kind: .space)) }
                    if character.isNewline { tokens[tokens.count - 1].breaksLine = true }
                } else {
                    tokens.append(Token(kind: .symbol(character)))
                }
            }
        }
        flush()
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
        return true
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
    private static let leadingDecoration: Set<Character> = ["*", "\"", "'", "“", "‘", "`", "(", "[", "#", ">", "_"]

    static func isEnclosed(_ tokens: [Token], _ index: Int) -> Bool {
        let before = neighbour(tokens, index, step: -1)?.symbol
        let after = neighbour(tokens, index, step: 1)?.symbol
        return (before == "(" && after == ")") || (before == "[" && after == "]")
            || (before == "*" && after == "*")
    }

    /// True when a naming word precedes the token, through at most four connectors:
    /// "Comment 3", "Comment #3", "answer is 3", "Comment No. 3", "option: 3".
    static func followsNamingWord(_ tokens: [Token], _ index: Int, labelsOnly: Bool = false) -> Bool {
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
                if names.contains(word) { return true }
                guard connectorWords.contains(word) else { return false }
            } else if let symbol = token.symbol {
                guard connectorSymbols.contains(symbol) else { return false }
                // A period ends a sentence unless it abbreviates "No.".
                if symbol == ".", !(i > 0 && ["no", "nr"].contains(tokens[i - 1].word ?? "")) { return false }
            } else {
                return false
            }
            connectors += 1
            if connectors > 4 { return false }
            i -= 1
        }
        return false
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
        var i = index + step
        while i >= 0, i < tokens.count {
            if !tokens[i].isSpace { return tokens[i] }
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
