import Foundation
import Testing
@testable import Pluralism

@Suite struct SelectionParserTests {
    @Test(arguments: [
        ("3", 3), ("3.", 3), (" 3 ", 3), ("(3)", 3), ("[3]", 3), ("**3**", 3), ("#3", 3),
        ("Comment 3", 3), ("comment 3", 3), ("COMMENT 3.", 3), ("Comment #3", 3), ("Comment3", 3),
        ("Comment No. 3", 3), ("Comment number 3", 3), ("Passage 3", 3), ("Option: 3", 3),
        ("The answer is 3.", 3), ("**Answer:** 3", 3), ("I choose 4 because it mentions fairness.", 4),
        ("Comment 5 best reflects the value of honesty.", 5),
        ("The comment that best reflects liberty is Comment 2, because it argues for choice.", 2),
        ("3) It talks about duty.", 3), ("\"2\"", 2), ("> 1", 1), ("The most accurate answer is 4.", 4),
        ("Expert 2", 2), ("community 3 is best placed", 3),
    ] as [(String, Int)])
    func answerForms(reply: String, expected: Int) {
        #expect(SelectionParser.parse(reply, count: 5) == expected, "\(reply)")
    }

    @Test func multiDigitNumbersAreReadWhole() {
        #expect(SelectionParser.parse("13", count: 5) == nil)
        #expect(SelectionParser.parse("Comment 13", count: 5) == nil)
        #expect(SelectionParser.parse("Comment 11", count: 11) == 11)
        #expect(SelectionParser.parse("10", count: 11) == 10)
        #expect(SelectionParser.parse("0", count: 5) == nil)
        #expect(SelectionParser.parse("03", count: 5) == 3)
        #expect(SelectionParser.parse("99999999999999999999999", count: 5) == nil)
    }

    @Test(arguments: [
        "In 2019 the law changed.", "COVID-19 changed everything.", "H1N1 and 3D printing.",
        "a 3-year-old child", "It is 3.5 times worse.", "About 1,000 people.", "2/5 of voters",
        "Comments 1-5 all disagree.", "At 3:30 we met.", "40% agree", "It costs $3.",
        "No one knows.", "I can't pick one.", "The answer is one that balances both.",
        "", "None of them.", "The 1st Amendment protects speech.",
    ])
    func strayDigitsAreNotAnswers(reply: String) {
        #expect(SelectionParser.parse(reply, count: 5) == nil, "\(reply)")
    }

    @Test func strayNumbersDoNotHideTheAnswer() {
        #expect(SelectionParser.parse("In 2019, comment 3 made the point.", count: 5) == 3)
        #expect(SelectionParser.parse("COVID-19 aside, 4 is best.", count: 5) == 4)
        #expect(SelectionParser.parse("Given 3.5 million people, Comment 2.", count: 5) == 2)
    }

    @Test func namedAnswersBeatListMarkersAndBareNumbers() {
        #expect(SelectionParser.parse("1. Comment 3 is closest to the attribute.", count: 5) == 3)
        #expect(SelectionParser.parse("Of the 4 views, comment 2 fits.", count: 5) == 2)
        #expect(SelectionParser.parse("(2) fits better than 4", count: 5) == 2)
    }

    @Test func echoedNumberedListsAreNotAnswers() {
        // Real SmolLM2-135M replies to the selection prompt: the comments echoed back.
        let echo = "1. 1. Farmers think the land should be used for food first.\n2. 2. Students want a place to"
        #expect(SelectionParser.parse(echo, count: 5) == nil)
        #expect(SelectionParser.parse("1. Farmers first.\n2. Students next.\n3. Owners", count: 5) == nil)
        #expect(SelectionParser.parse("1. 1. Farmers think the land", count: 5) == nil)
        #expect(SelectionParser.parse("1. Farmers first.\n2) Students next.\n\nThe answer is 2.", count: 5) == 2)
        #expect(SelectionParser.parse("  **1.** Farmers\n- 2. Students", count: 5) == nil)
        #expect(SelectionParser.parse("  **1.** Farmers\n- 2. Students\nSo comment 4", count: 5) == 4)
        // One leading marker is an answer, not a list.
        #expect(SelectionParser.parse("1. Environmental protection\n\nThe answer is 1.", count: 5) == 1)
        #expect(SelectionParser.parse("3.\nBecause it is about safety.", count: 5) == 3)
        #expect(SelectionParser.parse("4. It is about safety, see 2.5 above", count: 5) == 4)
    }

    @Test func firstAnswerWinsWithinATier() {
        #expect(SelectionParser.parse("Comment 3 is better than Comment 1.", count: 5) == 3)
        #expect(SelectionParser.parse("Maybe 2 or 4.", count: 5) == 2)
    }

    @Test func outOfRangeNamedAnswerIsUnparseable() {
        // The model named a comment that does not exist; a later bare digit is not its answer.
        #expect(SelectionParser.parse("Comment 7, then 2 people agree", count: 5) == nil)
        #expect(SelectionParser.parse("Comment 7 or Comment 2", count: 5) == 2)
        #expect(SelectionParser.parse("6", count: 5) == nil)
    }

    @Test func bareNumbersAreTheLastResort() {
        #expect(SelectionParser.parse("I think it is 4 because of the duty argument.", count: 5) == 4)
        #expect(SelectionParser.parse("Probably 12 or 3", count: 5) == 3)
    }

    @Test func spelledNumbers() {
        #expect(SelectionParser.parse("Comment three", count: 5) == 3)
        #expect(SelectionParser.parse("Three.", count: 5) == 3)
        #expect(SelectionParser.parse("the third comment", count: 5) == 3)
        #expect(SelectionParser.parse("The second one.", count: 5) == 2)
        #expect(SelectionParser.parse("3rd comment", count: 5) == 3)
        #expect(SelectionParser.parse("First, comment 4 is the one.", count: 5) == 4)
        #expect(SelectionParser.parse("Comment eleven", count: 12) == 11)
        #expect(SelectionParser.parse("Comment six", count: 5) == nil)
    }

    @Test func longRepliesParseInLinearTime() {
        // Model output is untrusted: a reply full of numbers must not take quadratic time.
        let reply = String(repeating: "7 one ", count: 50_000) + "Comment 2"
        let started = Date()
        #expect(SelectionParser.parse(reply, count: 5) == 2)
        #expect(Date().timeIntervalSince(started) < 5)
    }

    // MARK: Reading with the candidates and the cut known

    private let comments = [
        SelectionParser.Candidate(text: "Farmers think 2 fields should stay farmland, and the land should be used for food first."),
        SelectionParser.Candidate(text: "Students want a place to live that they can afford."),
        SelectionParser.Candidate(text: "Owners say the town should respect their property."),
    ]

    private func read(_ reply: String, _ candidates: [SelectionParser.Candidate]? = nil, truncated: Bool = false,
                      echo: [String] = []) -> SelectionParser.Reading? {
        SelectionParser.read(reply, candidates: candidates ?? comments, echoSources: echo, truncated: truncated)
    }

    @Test func aReadingSaysWhereItCameFrom() {
        #expect(read("I choose comment 2, because it is about cost.") == .init(position: 1, basis: .number, evidence: "comment 2"))
        #expect(read("3") == .init(position: 2, basis: .number, evidence: "3"))
        #expect(read("The third comment.")?.evidence == "third comment")
        #expect(read("#2 fits")?.evidence == "#2")
    }

    @Test func aCutOffReplyIsNeverReadFromItsCutOrItsBareNumbers() {
        // "2" may be the start of "29": the cut's last number is not read.
        #expect(read("Someone aged 18 to 2", truncated: true) == nil)
        #expect(read("The best comment is 2", truncated: true) == nil)
        #expect(read("The best comment is 2", truncated: false)?.position == 1)
        // A bare number in a cut reply is as likely the start of a list as an answer.
        #expect(read("I think 3 of them agree and the", truncated: true) == nil)
        #expect(read("I think 3 of them agree and the", truncated: false)?.position == 2)
        // A named answer before the cut is still an answer.
        #expect(read("Comment 3 fits best because the owners of the", truncated: true)?.position == 2)
        // A leading number is an answer unless it opens a list the cut ended.
        #expect(read("2 fits best because it is about what students", truncated: true)?.position == 1)
    }

    @Test func aListMarkerIsNeverAChoice() {
        // One list entry, cut off: the marker opened a list.
        #expect(read("1. Land should be used for food, because the town needs", truncated: true) == nil)
        #expect(read("1. Farmers first.\n2. Students", truncated: true) == nil)
        #expect(read("1. Farmers first.\n2. Students next.\n3. Owners last.") == nil)
        // A complete reply with one leading marker and an answer after it is still read.
        #expect(read("3. It is about property.")?.position == 2)
    }

    @Test func anEchoOfThePromptIsNeverAChoice() {
        // A comment echoed back: its numbers are not choices.
        #expect(read("Farmers think 2 fields should stay farmland.") == nil)
        #expect(read("Farmers think 2 fields should stay farmland.", [SelectionParser.Candidate(text: "x"), comments[1]])?.position == 1)
        #expect(read("1. Farmers think 2 fields should stay farmland.") == nil)
        #expect(read("3. Owners say the town should respect their property.") == nil)
        // The attribute echoed: its numbers are not choices.
        #expect(read("Age 65 or older, 2", echo: ["age: 65 or older"]) == nil)
        #expect(read("Age 65 or older, 2")?.position == 1)
        // An echo on one line does not hide an answer on another.
        #expect(read("Farmers think 2 fields should stay.\nComment 3 is closest.")?.position == 2)
        // Short lines cannot be told from answers and are read.
        #expect(read("Farmers: 1")?.position == 0)
    }

    @Test func rangesAreNotChoices() {
        #expect(read("Comments 1 to 3 all agree.") == nil)
        #expect(read("Pick from 1 through 3") == nil)
    }

    private let experts = [
        SelectionParser.Candidate(names: ["Left-leaning news readers", "news-left"], text: "Left-leaning news readers: equality and public services."),
        SelectionParser.Candidate(names: ["Centrist news readers", "news-center"], text: "Centrist news readers: evidence and compromise."),
        SelectionParser.Candidate(names: ["Left-leaning forum users", "social-left"], text: "Left-leaning forum users: solidarity and inclusion."),
    ]

    @Test func aNameInTheReplyWinsOverANumber() {
        // The reply SmolLM2 gave: a list marker 1, and the name of the third expert.
        #expect(read("1. social-left: Left-leaning people on social media", experts)
            == .init(position: 2, basis: .name, evidence: "social-left"))
        #expect(read("Expert 1, the centrist news readers.", experts)?.position == 1)
        #expect(read("I pick Social Left over number 1", experts)?.evidence == "Social Left")
        #expect(read("social_left", experts)?.position == 2)
        // Names are whole: "news-left" is not "left", and "newsleft" names nobody.
        #expect(read("fake-news-left-wing, 2", experts)?.basis == .number)
        // Two names: no name is read, the number decides.
        #expect(read("news-left or news-center? Expert 3.", experts) == .init(position: 2, basis: .number, evidence: "Expert 3"))
        // A list entry echoed at its own number is the list read back, not a choice.
        #expect(read("1. Left-leaning news readers: equality and public services.", experts) == nil)
        #expect(read("2. Left-leaning news readers: equality and public services.", experts)?.position == 0)
        // A name cut off at the token cap is not read.
        #expect(read("The expert is news-cent", experts, truncated: true) == nil)
        #expect(read("The expert is news-center", experts, truncated: true) == nil)
        #expect(read("The expert is news-center.", experts, truncated: false)?.position == 1)
    }

    @Test func invalidCountsGiveNil() {
        #expect(SelectionParser.parse("1", count: 0) == nil)
        #expect(SelectionParser.parse("1", count: 1) == 1)
    }
}
