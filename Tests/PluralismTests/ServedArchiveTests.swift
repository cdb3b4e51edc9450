import Corpus
import Foundation
import Testing
@testable import Pluralism

/// A llama-server stand-in whose loaded weights can be swapped: `/v1/models` lists the
/// current file, and replies name it, as the real server does.
private final class SwappableServer: @unchecked Sendable {
    private let lock = NSLock()
    private var file = "models/smol.Q4_1.gguf"
    private var size = 95_000_000
    private var failing: Set<String> = []
    var server: TestHTTPServer!

    init() throws {
        server = try TestHTTPServer { [unowned self] request, _ in
            let (file, size, failing) = self.lock.withLock { (self.file, self.size, self.failing) }
            if request.path == "/v1/models" {
                return .json(#"{"object":"list","data":[{"id":"\#(file)","object":"model","created":\#(Int(Date().timeIntervalSince1970)),"owned_by":"llamacpp","meta":{"size":\#(size)}}]}"#)
            }
            let question = (request.json?["messages"] as? [[String: String]])?.last?["content"] ?? ""
            if failing.contains(question) { return .json(#"{"error":{"code":400,"message":"no"}}"#, status: 400) }
            let text = "\(question) from \(file)"
            return .json(#"{"choices":[{"finish_reason":"stop","index":0,"message":{"role":"assistant","content":"\#(text)"}}],"model":"\#(file)","system_fingerprint":"b1-0c1e570","usage":{"prompt_tokens":5}}"#,
                         delay: 0.05)
        }
    }

    func swap(to file: String, size: Int) { lock.withLock { (self.file, self.size) = (file, size) } }
    func fail(_ questions: Set<String>) { lock.withLock { failing = questions } }

    func model(onServerChange: OpenAICompatibleModel.ServerChangePolicy = .newIdentity) -> OpenAICompatibleModel {
        OpenAICompatibleModel(baseURL: server.baseURL + "/v1", model: "smol", apiKey: nil, maxInFlight: 8, maxRetries: 0,
                              timeout: 10, retryDelay: 0.001, onServerChange: onServerChange)
    }
}

private func ask(_ question: String) -> ModelRequest {
    ModelRequest(messages: [.user(question)], decoding: Decoding(temperature: 0, maxTokens: 8, seed: 1))
}

@Suite struct ServedArchiveTests {
    @Test func weightsSwappedBehindTheURLAreANewIdentityNotAReplay() async throws {
        let swappable = try SwappableServer()
        defer { swappable.server.stop() }
        let corpus = try PipelineFixture.temporaryCorpus()

        let first = try await ArchivedModel(model: swappable.model(), corpus: corpus).respond(to: [ask("q")])
        #expect(first.map(\.response.text) == ["q from models/smol.Q4_1.gguf"])
        let again = try await ArchivedModel(model: swappable.model(), corpus: corpus).respond(to: [ask("q")])
        #expect(again.map(\.replayed) == [true], "the same server replays")

        swappable.swap(to: "models/smol.Q8_0.gguf", size: 145_000_000)
        let swapped = try await ArchivedModel(model: swappable.model(), corpus: corpus).respond(to: [ask("q")])
        #expect(swapped.map(\.replayed) == [false])
        #expect(swapped.map(\.response.text) == ["q from models/smol.Q8_0.gguf"])
        #expect(swapped[0].key != first[0].key)
        let stored = try #require(try corpus.archivedCall(key: swapped[0].key))
        #expect(stored.responseJSON.contains(#""servedModel":"models/smol.Q8_0.gguf""#), "the reply's identity is stored with the call")
        #expect(stored.responseJSON.contains(#""systemFingerprint":"b1-0c1e570""#))
        #expect(stored.requestJSON.contains(#""sent":{"max_tokens":8,"min_p":0,"seed":1,"temperature":0,"top_k":0,"top_p":1}"#),
                "the key holds what was sent: \(stored.requestJSON)")
    }

    @Test func aSwapCanBeAnErrorNamingBothIdentities() async throws {
        let swappable = try SwappableServer()
        defer { swappable.server.stop() }
        let corpus = try PipelineFixture.temporaryCorpus()
        _ = try await ArchivedModel(model: swappable.model(onServerChange: .error), corpus: corpus).respond(to: [ask("q")])
        swappable.swap(to: "models/other.gguf", size: 1)
        do {
            _ = try await ArchivedModel(model: swappable.model(onServerChange: .error), corpus: corpus).respond(to: [ask("q")])
            Issue.record("a swapped server was used")
        } catch let error as ServedModelChanged {
            #expect(error.description.contains("smol.Q4_1.gguf") && error.description.contains("other.gguf"), "\(error)")
        }
        #expect(swappable.server.requests.filter { $0.method == "POST" }.count == 1, "nothing was asked of the new model")
    }

    @Test func replayOnlyAdoptsTheArchivedIdentityWithoutAServer() async throws {
        let swappable = try SwappableServer()
        let corpus = try PipelineFixture.temporaryCorpus()
        let live = try await ArchivedModel(model: swappable.model(), corpus: corpus).respond(to: [ask("q")])
        let configured = swappable.model().identity
        swappable.server.stop()
        let replay = try await ArchivedModel(model: ArchiveOnlyModel(identity: configured), corpus: corpus, replayOnly: true)
            .respond(to: [ask("q")])
        #expect(replay.map(\.key) == live.map(\.key))
        #expect(replay.map(\.replayed) == [true])
    }

    @Test func oneFailureInAChunkOfEightArchivesTheOtherSeven() async throws {
        let swappable = try SwappableServer()
        defer { swappable.server.stop() }
        swappable.fail(["q5"])
        let corpus = try PipelineFixture.temporaryCorpus()
        let archived = ArchivedModel(model: swappable.model(), corpus: corpus)
        await #expect(throws: ModelCallError.self) {
            _ = try await archived.respond(to: (0..<8).map { ask("q\($0)") })
        }
        #expect(try corpus.archivedCallCount() == 7)
        #expect(archived.tally.fresh == 7)

        swappable.fail([])
        let resumed = try await ArchivedModel(model: swappable.model(), corpus: corpus)
            .respond(to: (0..<8).map { ask("q\($0)") })
        #expect(resumed.filter(\.replayed).count == 7, "a resumed run pays only for the failed call")
        #expect(try corpus.archivedCallCount() == 8)
    }

    @Test func embeddedKeysHaveNoServedMaterial() {
        let embedded = ModelIdentity(backend: "embedded", baseURL: "", fingerprint: "sha")
        let text = ArchivedModel.canonicalJSON(identity: embedded, request: ask("q"))
        #expect(!text.contains("served") && !text.contains("sent"))
    }

    @Test func theKeyRecordsTheCountSentNotTheCountAsked() {
        var request = ask("q")
        request.topLogprobs = 50
        let identity = { (kind: ServerKind) in
            ModelIdentity(backend: "openai", baseURL: "http://h", fingerprint: "m",
                          served: ServedIdentity(kind: kind.rawValue, endpoint: "chat", listing: ""))
        }
        #expect(ArchivedModel.canonicalJSON(identity: identity(.openai), request: request).contains(#""top_logprobs":20"#))
        #expect(ArchivedModel.canonicalJSON(identity: identity(.llamaCpp), request: request).contains(#""logprobs":true,"max_tokens":8,"min_p":0,"seed":1,"temperature":0,"top_k":0,"top_logprobs":50"#))
    }

    @Test func runIDIgnoresThroughputAndCredentialKnobs() {
        let served = { (inFlight: Int, keyVariable: String, timeout: Double) in
            PipelineFixture.inputs { config in
                config.baseModel = ModelSpec(backend: "openai", baseURL: "http://127.0.0.1:8080", model: "m", apiKeyEnv: keyVariable,
                                             maxInFlight: inFlight, timeout: timeout, retryBudget: 5)
            }
        }
        let a = served(8, "KEY_A", 120)
        let b = served(32, "KEY_B", 30)
        #expect(a.runID == b.runID)
        #expect(a.config.canonicalJSON != b.config.canonicalJSON, "the manifest still records the knobs")
        #expect(a.config.canonicalJSON.contains(#""max_in_flight":8"#))
        let otherKind = PipelineFixture.inputs { config in
            config.baseModel = ModelSpec(backend: "openai", baseURL: "http://127.0.0.1:8080", model: "m", server: "vllm")
        }
        #expect(otherKind.runID != a.runID, "the server kind changes what is sent")
        #expect(PipelineFixture.inputs().config.identityJSON == PipelineFixture.inputs().config.canonicalJSON,
                "embedded configs: the run id is made from the same text as before")
    }

    @Test func configRefusesUserInfoAndNamesTheField() throws {
        let folder = try InputsScratchFolder([
            "run.json": InputsScratchFolder.config(extra: "  \"base_model\": {\"backend\": \"openai\", \"base_url\": \"https://me:sk-1@api.example.com/v1\", \"model\": \"m\", \"server\": \"tgi\", \"timeout\": 0},\n"),
            "q.jsonl": InputsScratchFolder.overton + "\n",
        ])
        defer { folder.remove() }
        let errors = folder.errors()
        #expect(errors.contains { $0.line == 5 && $0.field == "base_model.base_url" && $0.message.contains("api_key_env") }, "\(errors)")
        #expect(errors.contains { $0.field == "base_model.server" && $0.message.contains("llama.cpp, vllm") }, "\(errors)")
        #expect(errors.contains { $0.field == "base_model.timeout" }, "\(errors)")
        #expect(!errors.map(\.description).joined().contains("sk-1@"), "the secret is not echoed")
    }

    @Test func theRunSummaryCountsCommentsCutAtMaxTokens() async throws {
        let corpus = try PipelineFixture.temporaryCorpus()
        // Comments of the "left" community stop at the cap; everything else ends by itself.
        let model = ScriptedModel { request in
            guard request.messages.first?.content.contains("left community") == true else { return nil }
            return ModelResponse(text: "cut sh", steps: [], finishReason: .length, promptTokens: 3)
        }
        let summary = try await Pipeline.run(PipelineFixture.context(PipelineFixture.inputs(), corpus: corpus, model: model))
        let left = try corpus.comments(runID: summary.runID).filter { $0.community == "left" }.count
        #expect(left > 0)
        #expect(summary.truncatedComments == left, "\(summary.truncatedComments) of \(summary.comments)")
    }
}
