import Foundation
import Testing
@testable import Pluralism

/// A chat-completions reply as OpenAI writes it.
private func reply(_ content: String, finish: String = "stop", logprobs: Bool = true, promptTokens: Int = 42) -> String {
    let escaped = String(data: try! JSONEncoder().encode(content), encoding: .utf8)!
    let logprobsJSON = logprobs ? """
        ,"logprobs":{"content":[{"token":"B","logprob":-0.25,"bytes":[66],"top_logprobs":[\
        {"token":"B","logprob":-0.25,"bytes":[66]},{"token":" A","logprob":-1.5,"bytes":[32,65]}]}]}
        """ : ""
    return """
        {"id":"chatcmpl-1","object":"chat.completion","model":"m",\
        "choices":[{"index":0,"message":{"role":"assistant","content":\(escaped)},"finish_reason":"\(finish)"\(logprobsJSON)}],\
        "usage":{"prompt_tokens":\(promptTokens),"completion_tokens":1,"total_tokens":\(promptTokens + 1)}}
        """
}

private func request(_ text: String = "Which option?", topLogprobs: Int = 0, sampleIndex: Int = 0, topK: Int = 0) -> ModelRequest {
    ModelRequest(
        messages: [.system("You answer with a letter."), .user(text)],
        decoding: Decoding(temperature: 0.7, topP: 0.9, topK: topK, maxTokens: 17, seed: 1234),
        topLogprobs: topLogprobs, sampleIndex: sampleIndex)
}

private func model(_ server: TestHTTPServer, maxInFlight: Int = 4, maxRetries: Int = 3, timeout: Double = 5) -> OpenAICompatibleModel {
    OpenAICompatibleModel(baseURL: server.baseURL, model: "test-model", apiKey: "sk-test",
                          maxInFlight: maxInFlight, maxRetries: maxRetries, timeout: timeout, retryDelay: 0.001)
}

/// The error a call threw, or nil if it succeeded.
private func failure(_ body: () async throws -> Void) async -> ModelCallError? {
    do {
        try await body()
        return nil
    } catch let error as ModelCallError {
        return error
    } catch {
        Issue.record("expected a ModelCallError, got \(error)")
        return nil
    }
}

@Suite struct OpenAIClientTests {
    @Test func successWithLogprobs() async throws {
        let server = try TestHTTPServer { _, _ in .json(reply("B", finish: "length")) }
        defer { server.stop() }
        let responses = try await model(server).respond(to: [request(topLogprobs: 50)])

        #expect(responses == [ModelResponse(
            text: "B",
            steps: [GeneratedStep(token: "B", logprob: -0.25,
                                  top: [TokenLogprob(token: "B", logprob: -0.25), TokenLogprob(token: " A", logprob: -1.5)])],
            finishReason: .length, promptTokens: 42)])
        let sent = try #require(server.requests.first)
        #expect(sent.method == "POST")
        #expect(sent.path == "/v1/chat/completions")
        #expect(sent.headers["authorization"] == "Bearer sk-test")
        let json = try #require(sent.json)
        #expect(json["model"] as? String == "test-model")
        #expect(json["logprobs"] as? Bool == true)
        #expect(json["top_logprobs"] as? Int == 20, "OpenAI caps top_logprobs at 20")
        let messages = try #require(json["messages"] as? [[String: String]])
        #expect(messages == [["role": "system", "content": "You answer with a letter."],
                             ["role": "user", "content": "Which option?"]])
    }

    @Test func bodyCarriesEveryDecodingParameter() async throws {
        let server = try TestHTTPServer { _, _ in .json(reply("ok", logprobs: false)) }
        defer { server.stop() }
        _ = try await model(server).respond(to: [request(), request(sampleIndex: 1, topK: 40)])

        let bodies = server.requests.compactMap(\.json).sorted { ($0["seed"] as! Int) < ($1["seed"] as! Int) }
        try #require(bodies.count == 2)
        let first = try #require(bodies.first { $0["seed"] as? Int == 1234 })
        #expect(first["temperature"] as? Double == 0.7)
        #expect(first["top_p"] as? Double == 0.9)
        #expect(first["max_tokens"] as? Int == 17)
        #expect(first["top_k"] == nil, "top_k is sent only when set")
        #expect(first["logprobs"] == nil && first["top_logprobs"] == nil)
        let second = try #require(bodies.first { $0["seed"] as? Int != 1234 })
        #expect(second["top_k"] as? Int == 40)
        let expectedSeed = Int(request(sampleIndex: 1).sampleSeed & UInt64(Int64.max))
        #expect(second["seed"] as? Int == expectedSeed, "sample 1 gets its own seed")
    }

    @Test func baseURLWithOrWithoutV1NamesTheSameEndpoint() async throws {
        let server = try TestHTTPServer { _, _ in .json(reply("ok", logprobs: false)) }
        defer { server.stop() }
        let withV1 = OpenAICompatibleModel(baseURL: server.baseURL + "/v1/", model: "m", apiKey: nil)
        #expect(withV1.identity == ModelIdentity(backend: "openai", baseURL: server.baseURL, fingerprint: "m"))
        #expect(withV1.identity == OpenAICompatibleModel(baseURL: server.baseURL, model: "m", apiKey: nil).identity)
        _ = try await withV1.respond(to: [request()])
        #expect(server.requests.map(\.path) == ["/v1/chat/completions"])
        #expect(server.requests.first?.headers["authorization"] == nil, "no key, no Authorization header")
    }

    @Test func serverErrorIsRetried() async throws {
        let server = try TestHTTPServer { _, index in
            index == 0 ? .json(#"{"error":"overloaded"}"#, status: 500) : .json(reply("fine", logprobs: false))
        }
        defer { server.stop() }
        let responses = try await model(server).respond(to: [request()])
        #expect(responses.map(\.text) == ["fine"])
        #expect(server.requests.count == 2)
    }

    @Test func tooManyRequestsHonoursRetryAfter() async throws {
        let server = try TestHTTPServer { _, index in
            index == 0 ? .json(#"{"error":"slow down"}"#, status: 429, headers: ["Retry-After": "1"])
                : .json(reply("fine", logprobs: false))
        }
        defer { server.stop() }
        _ = try await model(server).respond(to: [request()])
        let arrivals = server.requests.map(\.arrival)
        try #require(arrivals.count == 2)
        #expect(arrivals[1] - arrivals[0] >= 0.95, "waited \(arrivals[1] - arrivals[0]) s, Retry-After said 1 s")
    }

    @Test func timeoutIsRetried() async throws {
        let server = try TestHTTPServer { _, index in
            .json(reply("late", logprobs: false), delay: index == 0 ? 90 : 0)
        }
        defer { server.stop() }
        let started = Date()
        let responses = try await model(server, timeout: 1).respond(to: [request()])
        let elapsed = Date().timeIntervalSince(started)
        #expect(responses.map(\.text) == ["late"])
        #expect(server.requests.count == 2)
        // The first reply would take 90 s: finishing well before that means the client gave up
        // on it at its 1 s timeout (the wide margin absorbs a machine busy with the other
        // suites, which run beside this one).
        #expect(elapsed >= 0.9 && elapsed < 60, "the first attempt was abandoned at the timeout, after \(elapsed) s")
    }

    @Test func persistentFailureGivesUpNamingTheEndpoint() async throws {
        let server = try TestHTTPServer { _, _ in .json("upstream down\nretry later", status: 503) }
        defer { server.stop() }
        let client = model(server, maxRetries: 2)
        let error = await failure { _ = try await client.respond(to: [request()]) }
        #expect(server.requests.count == 3)
        #expect(error?.status == 503)
        #expect(error?.description == "\(server.baseURL)/v1/chat/completions: gave up after 3 attempts; last: HTTP 503: upstream down retry later")
    }

    @Test func clientErrorIsNotRetried() async throws {
        let server = try TestHTTPServer { _, _ in .json(#"{"error":{"message":"unknown model"}}"#, status: 400) }
        defer { server.stop() }
        let client = model(server)
        let error = await failure { _ = try await client.respond(to: [request()]) }
        #expect(server.requests.count == 1)
        #expect(error?.status == 400)
        #expect(error?.endpoint == client.endpoint)
        #expect(error?.message.contains("HTTP 400") == true)
        #expect(error?.message.contains("unknown model") == true)
    }

    @Test func malformedJSONIsAnError() async throws {
        let server = try TestHTTPServer { _, _ in .json(#"{"choices":[{"message":"#) }
        defer { server.stop() }
        let client = model(server)
        let error = await failure { _ = try await client.respond(to: [request()]) }
        #expect(error?.description.hasPrefix(client.endpoint + ": malformed JSON") == true, "\(String(describing: error))")
        #expect(server.requests.count == 1)
    }

    @Test func replyWithoutContentIsAnError() async throws {
        let server = try TestHTTPServer { _, _ in .json(#"{"choices":[]}"#) }
        defer { server.stop() }
        let client = model(server)
        let error = await failure { _ = try await client.respond(to: [request()]) }
        #expect(error?.message.contains("no choices") == true)
    }

    @Test func missingLogprobsWhenRequestedIsAnError() async throws {
        let server = try TestHTTPServer { _, _ in .json(reply("A", logprobs: false)) }
        defer { server.stop() }
        let client = model(server)
        let error = await failure { _ = try await client.respond(to: [request(topLogprobs: 5)]) }
        #expect(error?.message.contains("log-probabilities were requested") == true, "\(String(describing: error))")
    }

    @Test func unusualFinishReasonIsAnError() async throws {
        let server = try TestHTTPServer { _, _ in .json(reply("", finish: "content_filter", logprobs: false)) }
        defer { server.stop() }
        let client = model(server)
        let error = await failure { _ = try await client.respond(to: [request()]) }
        #expect(error?.message.contains("content_filter") == true)
    }

    @Test func inFlightRequestsNeverExceedTheLimit() async throws {
        let server = try TestHTTPServer { request, _ in
            let messages = request.json?["messages"] as? [[String: String]] ?? []
            return .json(reply("echo " + (messages.last?["content"] ?? ""), logprobs: false), delay: 0.1)
        }
        defer { server.stop() }
        let requests = (0..<12).map { request("q\($0)") }
        let responses = try await model(server, maxInFlight: 3).respond(to: requests)
        #expect(responses.map(\.text) == (0..<12).map { "echo q\($0)" }, "answers come back in request order")
        #expect(server.requests.count == 12)
        #expect(server.peakConcurrency <= 3)
        #expect(server.peakConcurrency >= 2, "requests did overlap")
    }

    @Test func unreachableServerIsAnErrorNamingTheEndpoint() async throws {
        let server = try TestHTTPServer { _, _ in .json(reply("x")) }
        let baseURL = server.baseURL
        server.stop()
        try await Task.sleep(nanoseconds: 200_000_000)  // the listener closes within one poll
        let client = OpenAICompatibleModel(baseURL: baseURL, model: "m", apiKey: nil, maxRetries: 1, timeout: 2, retryDelay: 0.001)
        let error = await failure { _ = try await client.respond(to: [request()]) }
        #expect(error?.endpoint == baseURL + "/v1/chat/completions")
        #expect(error?.message.hasPrefix("gave up after 2 attempts") == true, "\(String(describing: error))")
    }

    @Test func timeoutIsWholeSecondsAtLeastOne() {
        #expect(OpenAICompatibleModel(baseURL: "http://h", model: "m", apiKey: nil, timeout: 0.2).timeout == 1)
        #expect(OpenAICompatibleModel(baseURL: "http://h", model: "m", apiKey: nil, timeout: 2.5).timeout == 3)
    }

    @Test func invalidBaseURLIsAnError() async {
        let client = OpenAICompatibleModel(baseURL: "localhost:8000", model: "m", apiKey: nil)
        let error = await failure { _ = try await client.respond(to: [request()]) }
        #expect(error?.message.contains("not an http(s) URL") == true)
    }

    @Test func retryableStatuses() {
        #expect([408, 429, 500, 502, 503, 504].allSatisfy(OpenAICompatibleModel.isRetryable))
        #expect(![400, 401, 403, 404, 422].contains(where: OpenAICompatibleModel.isRetryable))
    }

    @Test func retryAfterParsing() {
        #expect(OpenAICompatibleModel.parseRetryAfter("2") == 2)
        #expect(OpenAICompatibleModel.parseRetryAfter(" 0.5 ") == 0.5)
        #expect(OpenAICompatibleModel.parseRetryAfter("soon") == nil)
        #expect(OpenAICompatibleModel.parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT") == 0, "a past date means now")
        let future = OpenAICompatibleModel.parseRetryAfter("Fri, 01 Jan 2100 00:00:00 GMT")
        #expect((future ?? 0) > 1e9)
    }

    @Test func backoffDoublesWithJitterAndACap() {
        let client = OpenAICompatibleModel(baseURL: "http://127.0.0.1:1", model: "m", apiKey: nil, retryDelay: 1)
        for attempt in 0..<8 {
            let delay = client.backoff(attempt: attempt)
            let full = Double(1 << min(attempt, 5))
            #expect(delay >= full / 2 && delay <= full)
        }
    }

    @Test func sampleSeeds() {
        #expect(request(sampleIndex: 0).sampleSeed == 1234)
        let seeds = Set((0..<100).map { request(sampleIndex: $0).sampleSeed })
        #expect(seeds.count == 100)
        #expect(request(sampleIndex: 3).sampleSeed == request(sampleIndex: 3).sampleSeed)
    }
}
