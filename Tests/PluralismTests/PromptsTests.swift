import Foundation
import Testing
@testable import Pluralism

/// What prompts show and ask, on the default inputs.
@Suite struct PromptsTests {
    /// Every prompt the base model and the communities would see for every default item.
    static func everyPrompt(_ inputs: RunInputs) -> [(item: Item, text: String)] {
        let config = inputs.config
        var prompts: [(Item, String)] = []
        for item in inputs.items {
            let pool = config.communities(inPool: item.pool)
            let order = Array(item.options.indices)
            var conversations = pool.map { Prompts.comment(item: item, community: $0) }
            conversations.append(Prompts.overton(item: item, comments: pool.map { _ in "A comment." }))
            for labels in [Prompts.CandidateLabels.letters, .numbers] {
                conversations.append(Prompts.steerableSelection(item: item, comments: pool.map { _ in "A comment." }, labels: labels))
                conversations.append(Prompts.expertSelection(item: item, experts: pool.map { ($0.label, $0.description) }, labels: labels))
            }
            if item.options.isEmpty {
                conversations.append(Prompts.answerWithPassage(item: item, passage: "A comment."))
            } else {
                conversations.append(Prompts.choiceWithPassage(item: item, passage: "A comment.", order: order))
            }
            conversations.append(Prompts.vanilla(item: item, order: order))
            conversations.append(Prompts.prompting(item: item, population: item.population.flatMap(config.population(named:)), order: order))
            for conversation in conversations {
                prompts.append((item, conversation.map(\.content).joined(separator: "\n")))
            }
        }
        return prompts
    }

    @Test func promptsNeverShowAnIdentifier() throws {
        let inputs = try InputLoader.load(configPath: InputsDefaultTests.defaultConfig)
        // "everyone" is also an English word, which profiles use.
        let ids = (inputs.config.communities.map(\.name) + inputs.config.populations.map(\.name)).filter { $0 != "everyone" }
        for (item, text) in Self.everyPrompt(inputs) {
            for id in ids {
                #expect(!text.contains(id), "\(item.id): a prompt shows \"\(id)\"")
            }
        }
        // Populations are named by their label, and only when they have one.
        let prompting = Self.everyPrompt(inputs).filter { $0.text.contains("not your own view") }
        #expect(prompting.contains { $0.item.population == "japan" && $0.text.contains("Population: Japan.") })
        #expect(prompting.contains { $0.item.population == "low-ambiguity" && !$0.text.contains("Population:") })
    }

    @Test func valueItemsAskWhetherTheSituationSupportsOrOpposesTheValue() throws {
        let inputs = try InputLoader.load(configPath: InputsDefaultTests.defaultConfig)
        let valueItems = inputs.items.filter(\.steersByValue)
        #expect(valueItems.count == 11)
        let community = inputs.config.communities[0]
        for item in valueItems {
            let value = try #require(item.attribute)
            let asked = "support or oppose the value \"\(value)\""
            #expect(Prompts.comment(item: item, community: community)[1].content.contains(asked), "\(item.id)")
            let answer = item.options.isEmpty ? Prompts.answerWithPassage(item: item, passage: "p")
                : Prompts.choiceWithPassage(item: item, passage: "p", order: Array(item.options.indices))
            #expect(answer[1].content.contains(asked), "\(item.id)")
            #expect(Prompts.vanilla(item: item, order: Array(item.options.indices))[1].content.contains(asked), "\(item.id)")
        }
        // Survey questions steered by a demographic attribute ask for that perspective.
        let survey = try #require(inputs.items.first { $0.id == "steerable-12" })
        #expect(!survey.steersByValue)
        let choice = Prompts.choiceWithPassage(item: survey, passage: "p", order: [0, 1, 2, 3])[1].content
        #expect(choice.contains("Perspective: political ideology: liberal\n\nWhich answer would a person with this perspective give?"))
    }

    @Test func optionsAreLetteredInTheOrderGivenAndTheReplyGoesLast() {
        let item = Item(id: "d", mode: .distributional, pool: "p", sourceFile: "", line: 1, text: "Which?", options: ["x", "y", "z"])
        let text = Prompts.vanilla(item: item, order: [2, 0, 1])[1].content
        #expect(text.contains("A. z\nB. x\nC. y\n"))
        #expect(text.hasSuffix("Reply with one letter (A to C) and nothing else."))
        let selection = Prompts.expertSelection(item: item, experts: [("Alpha", "first."), (nil, "second.")], labels: .letters)[1].content
        #expect(selection.contains("A. Alpha: first.\nB. second.\n"))
        #expect(selection.hasSuffix("Reply with one letter (A to B) and nothing else."))
        let numbered = Prompts.steerableSelection(item: item, comments: ["u", "v"], labels: .numbers)[1].content
        #expect(numbered.contains("1. u\n2. v\n") && numbered.hasSuffix("Reply with the number of the comment (1 to 2) and nothing else."))
    }
}
