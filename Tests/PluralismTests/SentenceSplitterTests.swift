import Testing
@testable import Pluralism

struct SentenceSplitterTests {
    @Test func plainProseSplitsAtSentenceEnds() {
        #expect(SentenceSplitter.split("Honesty matters. But so does kindness! Is there a middle way?")
            == ["Honesty matters.", "But so does kindness!", "Is there a middle way?"])
    }

    @Test func abbreviationsInitialsAndAcronymsDoNotEndSentences() {
        #expect(SentenceSplitter.split("Dr. Smith met Mr. Jones in the U.S. Army. They talked, e.g. about pay.")
            == ["Dr. Smith met Mr. Jones in the U.S. Army.", "They talked, e.g. about pay."])
        #expect(SentenceSplitter.split("J. R. R. Tolkien wrote it. Many read it.") == ["J. R. R. Tolkien wrote it.", "Many read it."])
        #expect(SentenceSplitter.split("Costs rose, i.e. Rent doubled.") == ["Costs rose, i.e. Rent doubled."])
    }

    @Test func decimalsAndNumbersStayWhole() {
        #expect(SentenceSplitter.split("Prices rose 3.5 percent. In 2020 they fell.") == ["Prices rose 3.5 percent.", "In 2020 they fell."])
        #expect(SentenceSplitter.split("The rate was 0.25. 12 people agreed.") == ["The rate was 0.25.", "12 people agreed."])
    }

    @Test func quotesAndBracketsCloseTheSentence() {
        #expect(SentenceSplitter.split("She said \"Stop.\" Then she left. (It was late.) Nobody followed.")
            == ["She said \"Stop.\"", "Then she left.", "(It was late.)", "Nobody followed."])
        #expect(SentenceSplitter.split("He asked “why?” and waited.") == ["He asked “why?” and waited."])
    }

    @Test func listItemsAndLineBreaksAreUnitsWithoutTheirMarkers() {
        let text = """
        Three views stand out:
        1. Families need homes.
        2) Parks keep cities healthy
        - Compromise is possible.
        • Ask the neighbours
        (a) Build elsewhere.

        ---
        I. think so.
        """
        #expect(SentenceSplitter.split(text) == [
            "Three views stand out:", "Families need homes.", "Parks keep cities healthy", "Compromise is possible.",
            "Ask the neighbours", "Build elsewhere.", "I. think so.",
        ])
    }

    @Test func lowercaseContinuationAndEllipsis() {
        #expect(SentenceSplitter.split("It works... mostly. Well... No.") == ["It works... mostly.", "Well...", "No."])
        #expect(SentenceSplitter.split("") == [])
        #expect(SentenceSplitter.split("   \n\n ...  \n") == [])
    }
}
