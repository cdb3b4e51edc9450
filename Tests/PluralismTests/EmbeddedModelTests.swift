import Foundation
import Inference
import Testing
@testable import Pluralism

/// The real SmolLM2 model, opened once for these tests; nil when the file is not cached.
private enum SmolLM2 {
    static let path: String? = try? ModelStore().locate(ModelStore.defaultModel)
    /// Skipped when the file is not cached, except under CI=true, where a missing model
    /// must fail the run rather than pass it by skipping.
    static let available = path != nil || ProcessInfo.processInfo.environment["CI"] == "true"
    static let skipReason: Comment =
        "SmolLM2 model file not cached; run `pluralism models fetch` to run this test (with CI=true it fails instead of skipping)"
    /// Debug builds run the engine 10-100× slower (minutes for these tests): generating
    /// tests run in release builds, or in debug with PLURALISM_SLOW_TESTS=1.
    static var generationEnabled: Bool {
        #if DEBUG
        return available && ProcessInfo.processInfo.environment["PLURALISM_SLOW_TESTS"] == "1"
        #else
        return available
        #endif
    }
    static let generationSkipReason: Comment =
        "needs the model file (fetch it with `pluralism models fetch`) and a release build (swift test -c release -Xswiftc -enable-testing), or PLURALISM_SLOW_TESTS=1"
    /// A file that is there but does not load fails every test that uses it.
    static let engine = Result { try Engine(modelPath: ModelStore().locate(ModelStore.defaultModel)) }

    static func model() throws -> EmbeddedModel {
        let engine = try engine.get()
        return EmbeddedModel(engine: engine, fingerprint: ModelStore.defaultModel.sha256)
    }
}

private func request(_ question: String, temperature: Double = 0, topLogprobs: Int = 0, sampleIndex: Int = 0) -> ModelRequest {
    ModelRequest(
        messages: [.system("You are a careful assistant."), .user(question)],
        decoding: Decoding(temperature: temperature, topP: 0.9, topK: 40, maxTokens: 5, seed: 7),
        topLogprobs: topLogprobs, sampleIndex: sampleIndex)
}

@Suite(.enabled(if: SmolLM2.available, SmolLM2.skipReason))
struct EmbeddedModelTests {
    @Test func identityNamesTheWeightsAndTheEngineNumerics() throws {
        let model = try SmolLM2.model()
        #expect(model.identity.backend == "embedded")
        #expect(model.identity.fingerprint.hasPrefix(ModelStore.defaultModel.sha256))
        #expect(model.identity.fingerprint.hasSuffix("engine-numerics-\(Engine.numericsVersion)"))
    }

    @Test func engineRequestCarriesPromptAndDecoding() throws {
        let model = try SmolLM2.model()
        let modelRequest = request("Is honesty a duty?", temperature: 1, topLogprobs: 4, sampleIndex: 2)
        let engineRequest = model.generationRequest(for: modelRequest)
        let turns = [ChatTemplate.Turn(role: "system", content: "You are a careful assistant."),
                     ChatTemplate.Turn(role: "user", content: "Is honesty a duty?")]
        #expect(engineRequest.promptIDs == ChatTemplate.encode(turns, tokenizer: model.engine.tokenizer))
        #expect(engineRequest.temperature == 1)
        #expect(engineRequest.topP == 0.9)
        #expect(engineRequest.topK == 40)
        #expect(engineRequest.maxTokens == 5)
        #expect(engineRequest.topLogprobs == 4)
        #expect(engineRequest.seed == modelRequest.sampleSeed)
        #expect(engineRequest.seed != 7, "sample 2 does not reuse sample 0's seed")
    }

    @Test(.enabled(if: SmolLM2.generationEnabled, SmolLM2.generationSkipReason))
    func batchedAnswersMatchSingleGeneration() async throws {
        let model = try SmolLM2.model()
        let requests = [request("Name a colour.", topLogprobs: 3), request("What is 2 + 2?", topLogprobs: 3)]
        let responses = try await model.respond(to: requests)
        try #require(responses.count == 2)

        let tokenizer = model.engine.tokenizer
        for (modelRequest, response) in zip(requests, responses) {
            let alone = try model.engine.generate([model.generationRequest(for: modelRequest)])[0]
            #expect(response.text == alone.text)
            #expect(response.promptTokens == alone.promptIDs.count)
            #expect(response.steps.map(\.token) == alone.ids.map(tokenizer.piece))
            #expect(response.finishReason.rawValue == alone.finishReason.rawValue)
            for step in response.steps {
                #expect(step.top.count == 3)
                #expect(step.logprob <= 0)
                #expect(step.top.first?.token == step.token, "greedy decoding takes the best alternative")
            }
        }
    }

    @Test(.enabled(if: SmolLM2.generationEnabled, SmolLM2.generationSkipReason))
    func engineErrorsNameTheBackend() async throws {
        let model = try SmolLM2.model()
        let long = String(repeating: "word ", count: model.engine.contextLength + 10)
        do {
            _ = try await model.respond(to: [request(long)])
            Issue.record("a prompt past the context was accepted")
        } catch let error as ModelCallError {
            #expect(error.endpoint == "embedded")
            #expect(error.message.contains("context"))
        }
    }

    /// More requests than the engine holds: each answer is delivered once, as its sequence
    /// ends, and equals the lockstep batch's answer.
    @Test(.enabled(if: SmolLM2.generationEnabled, SmolLM2.generationSkipReason))
    func streamingDeliversEachAnswerOnceAsInABatch() async throws {
        let engine = try Engine(modelPath: try #require(SmolLM2.path), threads: 2, sequences: 2)
        let model = EmbeddedModel(engine: engine, fingerprint: ModelStore.defaultModel.sha256)
        #expect(model.capacity == 2)
        let requests = ["Name a colour.", "What is 2 + 2?", "Name a river.", "Is honesty a duty?", "Say hello."]
            .enumerated().map { request($0.element, temperature: 0.8, topLogprobs: 2, sampleIndex: $0.offset) }
        let batched = try await model.respond(to: requests)
        let delivered = Delivered()
        try await model.respond(to: requests) { index, response in await delivered.add(index, response) }
        let answers = await delivered.answers
        #expect(answers.map(\.0).sorted() == Array(requests.indices))
        for (index, response) in answers { #expect(response == batched[index], "request \(index)") }
    }

    @Test(.enabled(if: SmolLM2.generationEnabled, SmolLM2.generationSkipReason))
    func streamingStopsWhenDeliveryFails() async throws {
        struct Full: Error {}
        let model = try SmolLM2.model()
        let requests = (0..<4).map { request("Count to \($0 + 3).", sampleIndex: $0) }
        let delivered = Delivered()
        do {
            try await model.respond(to: requests) { index, response in
                await delivered.add(index, response)
                throw Full()
            }
            Issue.record("the delivery error was not rethrown")
        } catch is Full {}
        #expect(await delivered.answers.count == 1)
    }

    @Test func emptyBatchIsEmpty() async throws {
        #expect(try await SmolLM2.model().respond(to: []).isEmpty)
    }
}

private actor Delivered {
    var answers: [(Int, ModelResponse)] = []
    func add(_ index: Int, _ response: ModelResponse) { answers.append((index, response)) }
}
