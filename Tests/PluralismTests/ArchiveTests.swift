import Corpus
import Foundation
import Inference
import Testing
@testable import Pluralism

@Suite struct ArchiveTests {
    static let identity = ModelIdentity(backend: "openai", baseURL: "http://localhost:8000/v1", fingerprint: "model-a")
    static let request = ModelRequest(
        messages: [.system("You are terse."), .user("Say hi.")],
        decoding: Decoding(temperature: 1.0, topP: 0.9, topK: 0, maxTokens: 20, seed: 42))

    @Test func theKeyCoversEveryParameterOfTheCall() {
        let key = ArchivedModel.key(identity: Self.identity, request: Self.request)
        #expect(key.count == 64)
        #expect(key == ArchivedModel.key(identity: Self.identity, request: Self.request))

        var variants: [ModelRequest] = []
        var changed = Self.request
        changed.decoding.temperature = 0.9
        variants.append(changed)
        changed = Self.request
        changed.decoding.seed = 43
        variants.append(changed)
        changed = Self.request
        changed.sampleIndex = 1
        variants.append(changed)
        changed = Self.request
        changed.messages[1].content = "Say hi!"
        variants.append(changed)
        changed = Self.request
        changed.messages[0].role = .user
        variants.append(changed)
        changed = Self.request
        changed.decoding.topP = 0.95
        variants.append(changed)
        changed = Self.request
        changed.decoding.topK = 40
        variants.append(changed)
        changed = Self.request
        changed.decoding.maxTokens = 21
        variants.append(changed)
        changed = Self.request
        changed.topLogprobs = 5
        variants.append(changed)
        let keys = variants.map { ArchivedModel.key(identity: Self.identity, request: $0) }
        #expect(Set(keys + [key]).count == variants.count + 1)

        var otherURL = Self.identity
        otherURL.baseURL = "http://localhost:8001/v1"
        var otherModel = Self.identity
        otherModel.fingerprint = "model-b"
        var otherBackend = Self.identity
        otherBackend.backend = "embedded"
        for identity in [otherURL, otherModel, otherBackend] {
            #expect(ArchivedModel.key(identity: identity, request: Self.request) != key)
        }
    }

    @Test func theCanonicalFormIsDocumentedAndHashedAsStored() {
        let json = ArchivedModel.canonicalJSON(identity: Self.identity, request: Self.request)
        #expect(json == #"{"identity":{"backend":"openai","base_url":"http://localhost:8000/v1","fingerprint":"model-a"},"request":{"decoding":{"max_tokens":20,"seed":42,"temperature":1,"top_k":0,"top_p":0.9},"messages":[{"content":"You are terse.","role":"system"},{"content":"Say hi.","role":"user"}],"sample_index":0,"top_logprobs":0}}"#)
        #expect(ArchivedModel.key(identity: Self.identity, request: Self.request) == json.sha256Hex)
    }

    @Test func missesGoToTheModelOnceAndHitsReplay() async throws {
        let corpus = try PipelineFixture.temporaryCorpus()
        let model = ScriptedModel()
        let archived = ArchivedModel(model: model, corpus: corpus)
        var second = Self.request
        second.sampleIndex = 1
        // A repeated request in one batch is asked once.
        let first = try await archived.respond(to: [Self.request, second, Self.request])
        #expect(model.calls == 2)
        #expect(first.map(\.replayed) == [false, false, false])
        #expect(first[0].response == first[2].response)
        #expect(try corpus.archivedCallCount() == 2)
        let stored = try #require(try corpus.archivedCall(key: first[0].key))
        #expect(stored.requestJSON.sha256Hex == stored.key)
        #expect(stored.backend == "scripted")

        var third = Self.request
        third.sampleIndex = 2
        let again = try await archived.respond(to: [second, third, Self.request])
        #expect(model.calls == 3)
        #expect(again.map(\.replayed) == [true, false, true])
        #expect(again[0].response == first[1].response)
        #expect(archived.tally.fresh == 3)
        #expect(archived.tally.replayed == 2)
    }

    @Test func errorsAreNeverArchived() async throws {
        let corpus = try PipelineFixture.temporaryCorpus()
        let model = ScriptedModel(failAfter: 0)
        let archived = ArchivedModel(model: model, corpus: corpus)
        await #expect(throws: ScriptedFailure.self) { try await archived.respond(to: [Self.request]) }
        #expect(try corpus.archivedCallCount() == 0)
        model.failAfter(nil)
        let answer = try await archived.respond(to: [Self.request])
        #expect(answer[0].replayed == false)
        #expect(try corpus.archivedCallCount() == 1)
    }

    @Test func replayOnlyTurnsAMissIntoAClearError() async throws {
        let corpus = try PipelineFixture.temporaryCorpus()
        let model = ScriptedModel()
        _ = try await ArchivedModel(model: model, corpus: corpus).respond(to: [Self.request])
        let replaying = ArchivedModel(model: model, corpus: corpus, replayOnly: true)
        let hit = try await replaying.respond(to: [Self.request])
        #expect(hit[0].replayed)
        var other = Self.request
        other.decoding.seed = 1
        do {
            _ = try await replaying.respond(to: [Self.request, other])
            Issue.record("a replay-only miss must throw")
        } catch let miss as ArchiveMiss {
            #expect(miss.count == 1)
            #expect(miss.description.contains("not in the archive"))
        }
        #expect(model.calls == 1)
    }

    @Test func aNonFiniteLogprobIsArchivedAndReplayed() async throws {
        let corpus = try PipelineFixture.temporaryCorpus()
        let ruledOut = ModelResponse(
            text: "A", steps: [GeneratedStep(token: "A", logprob: 0, top: [TokenLogprob(token: "A", logprob: 0), TokenLogprob(token: "B", logprob: -.infinity)])],
            finishReason: .length, promptTokens: 3)
        let model = ScriptedModel { _ in ruledOut }
        _ = try await ArchivedModel(model: model, corpus: corpus).respond(to: [Self.request])
        let replayed = try await ArchivedModel(model: model, corpus: corpus, replayOnly: true).respond(to: [Self.request])
        #expect(replayed[0].replayed)
        #expect(replayed[0].response == ruledOut)
    }

    @Test func replayOnlyModelsCarryTheSameIdentityWithoutWeightsOrKeys() throws {
        let loader = ModelLoader(modelDirectory: "/nonexistent", replayOnly: true, environment: [:])
        let embedded = try loader.model(for: .embedded)
        #expect(embedded.identity == EmbeddedModel.identity(fingerprint: ModelStore.defaultModel.sha256))
        let spec = ModelSpec(backend: "openai", baseURL: "http://127.0.0.1:8000/v1/", model: "served", apiKeyEnv: "UNSET_KEY")
        let remote = try loader.model(for: spec)
        let client = OpenAICompatibleModel(baseURL: "http://127.0.0.1:8000/v1/", model: "served", apiKey: nil)
        #expect(remote.identity == client.identity)

        let live = ModelLoader(modelDirectory: "/nonexistent", environment: [:])
        #expect(throws: ModelStoreError.self) { try live.model(for: .embedded) }
        do {
            _ = try live.model(for: spec)
            Issue.record("an unset API key variable must be an error")
        } catch let error as ModelUnavailable {
            #expect(error.description.contains("UNSET_KEY"))
        }
    }
}
