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

    @Test func invalidCountsGiveNil() {
        #expect(SelectionParser.parse("1", count: 0) == nil)
        #expect(SelectionParser.parse("1", count: 1) == 1)
    }
}
