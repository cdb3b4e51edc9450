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

private func model(_ server: TestHTTPServer, maxInFlight: Int = 4, maxRetries: Int = 3, timeout: Double = 5,
                   retryBudget: Int = 100, kind: ServerKind? = nil) -> OpenAICompatibleModel {
    OpenAICompatibleModel(baseURL: server.baseURL, model: "test-model", apiKey: "sk-test",
                          maxInFlight: maxInFlight, maxRetries: maxRetries, timeout: timeout, retryDelay: 0.001,
                          retryBudget: retryBudget, server: kind)
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
                                  top: [TokenLogprob(token: "B", logprob: -0.25, bytes: [66]),
                                        TokenLogprob(token: " A", logprob: -1.5, bytes: [32, 65])],
                                  bytes: [66])],
            finishReason: .length, promptTokens: 42, servedModel: "m")])
        #expect(responses[0].isTruncated, "a reply cut at max_tokens is marked")
        let sent = try #require(server.requests.first)
        #expect(sent.method == "POST")
        #expect(sent.path == "/v1/chat/completions")
        #expect(sent.headers["authorization"] == "Bearer sk-test")
        let json = try #require(sent.json)
        #expect(json["model"] as? String == "test-model")
        #expect(json["logprobs"] as? Bool == true)
        #expect(json["top_logprobs"] as? Int == 50, "sent as asked: only OpenAI's own API caps the count")
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
        #expect(first["top_k"] as? Int == 0, "no cut is sent, not left to the server's default")
        #expect(first["min_p"] as? Int == 0, "llama.cpp's default min_p 0.05 is neutralised")
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

    @Test func bodyCutOffMidJSONIsRetriedThenAnError() async throws {
        let server = try TestHTTPServer { _, _ in .json(#"{"choices":[{"message":"#) }
        defer { server.stop() }
        let client = model(server, maxRetries: 2)
        let error = await failure { _ = try await client.respond(to: [request()]) }
        #expect(error?.description.hasPrefix(client.endpoint + ": gave up after 3 attempts; last: malformed JSON") == true,
                "\(String(describing: error))")
        #expect(server.requests.count == 3)
    }

    @Test func truncatedBodyIsRetried() async throws {
        let server = try TestHTTPServer { _, index in
            let whole = reply("whole", logprobs: false)
            return index == 0 ? .json(String(whole.prefix(40))) : .json(whole)
        }
        defer { server.stop() }
        #expect(try await model(server).respond(to: [request()]).map(\.text) == ["whole"])
        #expect(server.requests.count == 2)
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


    @Test func invalidBaseURLIsAnError() async {
        let client = OpenAICompatibleModel(baseURL: "localhost:8000", model: "m", apiKey: nil)
        let error = await failure { _ = try await client.respond(to: [request()]) }
        #expect(error?.message.contains("not an http(s) URL") == true)
    }

    @Test func retryableStatuses() {
        #expect([408, 429, 500, 502, 503, 504].allSatisfy { OpenAICompatibleModel.isRetryable(status: $0) })
        #expect(![301, 302, 400, 401, 403, 404, 422].contains { OpenAICompatibleModel.isRetryable(status: $0) })
        let quota = Data(#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#.utf8)
        #expect(!OpenAICompatibleModel.isRetryable(status: 429, body: quota), "waiting does not refill a quota")
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

    // MARK: Deadlines: the server trickles, stalls or hangs up

    /// The first attempt misbehaves, the second answers: "on time" can only come from the
    /// second, so the client must have abandoned the first. The time bounds are far below
    /// what the misbehaviour would take, and far above a starved test machine's delays
    /// (other suites keep both cores busy).
    private func recovers(from delivery: TestHTTPServer.Delivery, timeout: Double = 1) async throws -> (seconds: Double, requests: Int) {
        let server = try TestHTTPServer(lifetime: 600) { _, index in
            index == 0 ? .json(reply("late", logprobs: false) + String(repeating: " ", count: 2000), delivery: delivery)
                : .json(reply("on time", logprobs: false))
        }
        defer { server.stop() }
        let started = Date()
        let responses = try await model(server, timeout: timeout).respond(to: [request()])
        #expect(responses.map(\.text) == ["on time"])
        return (Date().timeIntervalSince(started), server.requests.count)
    }

    @Test func tricklingReplyMeetsTheDeadline() async throws {
        // One byte every 0.2 s: over 400 s for the whole body, and every byte would reset
        // Foundation's own idle timer.
        let outcome = try await recovers(from: .trickle(bytes: 1, interval: 0.2))
        #expect(outcome.requests == 2)
        #expect(outcome.seconds >= 0.9 && outcome.seconds < 200, "abandoned after \(outcome.seconds) s")
    }

    @Test func stalledReplyMeetsTheDeadline() async throws {
        let outcome = try await recovers(from: .stall(afterBytes: 10))
        #expect(outcome.requests == 2)
        #expect(outcome.seconds >= 0.9 && outcome.seconds < 200, "abandoned after \(outcome.seconds) s")
    }

    @Test func connectionClosedMidBodyIsRetried() async throws {
        // A 1000 s deadline: only the broken connection itself can prompt the retry in time.
        let outcome = try await recovers(from: .closeMidBody(afterBytes: 30), timeout: 1000)
        #expect(outcome.requests == 2)
        #expect(outcome.seconds < 500, "retried when the connection broke, not at the deadline (\(outcome.seconds) s)")
    }

    @Test func deadlineErrorSaysSo() async throws {
        let server = try TestHTTPServer { _, _ in .json(reply("never"), delivery: .stall(afterBytes: 0)) }
        defer { server.stop() }
        let client = model(server, maxRetries: 0, timeout: 0.5)
        let error = await failure { _ = try await client.respond(to: [request()]) }
        #expect(error?.message == "gave up after 1 attempt; last: no complete reply within the 0.5 s deadline", "\(String(describing: error))")
    }

    @Test func retryBudgetIsSharedByTheRun() async throws {
        let server = try TestHTTPServer { _, _ in .json(#"{"error":"busy"}"#, status: 503) }
        defer { server.stop() }
        let client = model(server, maxInFlight: 1, maxRetries: 3, retryBudget: 4)
        let first = await failure { _ = try await client.respond(to: [request("a")]) }
        #expect(first?.message.hasPrefix("gave up after 4 attempts") == true, "\(String(describing: first))")
        let second = await failure { _ = try await client.respond(to: [request("b")]) }
        #expect(second?.message.hasPrefix("the run's retry budget (4 retries) is spent") == true, "\(String(describing: second))")
        #expect(server.requests.count == 4 + 2, "3 retries of the first request, 1 of the second, then the budget is spent")
        #expect(client.retriesLeft == 0)
    }

    @Test func exhaustedQuotaIsNotRetried() async throws {
        let server = try TestHTTPServer { _, _ in
            .json(#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#, status: 429)
        }
        defer { server.stop() }
        let error = await failure { _ = try await model(server).respond(to: [request()]) }
        #expect(error?.status == 429)
        #expect(server.requests.count == 1)
    }

    // MARK: Credentials

    @Test func redirectsAreNotFollowed() async throws {
        let elsewhere = try TestHTTPServer { _, _ in .json(reply("stolen", logprobs: false)) }
        defer { elsewhere.stop() }
        let server = try TestHTTPServer { _, _ in .redirect(to: elsewhere.baseURL + "/v1/chat/completions") }
        defer { server.stop() }
        let error = await failure { _ = try await model(server).respond(to: [request()]) }
        #expect(error?.status == 302)
        #expect(error?.message.contains("redirects are not followed") == true, "\(String(describing: error))")
        #expect(server.requests.count == 1, "a redirect is not retried")
        #expect(elsewhere.requests.isEmpty, "neither the request nor its Authorization header reached the other host")
    }

    @Test func userInfoInTheBaseURLIsRefused() async throws {
        let server = try TestHTTPServer { _, _ in .json(reply("x")) }
        defer { server.stop() }
        let secret = "http://user:sk-secret@127.0.0.1:\(server.port)"
        let client = OpenAICompatibleModel(baseURL: secret, model: "m", apiKey: nil)
        #expect(!client.identity.baseURL.contains("sk-secret"), "the secret never reaches the archive")
        let error = await failure { _ = try await client.respond(to: [request()]) }
        #expect(error?.message.contains("api_key_env") == true)
        #expect(error?.description.contains("sk-secret") == false)
        #expect(server.requests.isEmpty)
        #expect(throws: ModelUnavailable.self) {
            _ = try ModelLoader(environment: [:]).model(for: ModelSpec(backend: "openai", baseURL: secret, model: "m"))
        }
    }

    @Test func plainHTTPKeyWarning() {
        #expect(ServedCredentials.plainTextWarning(baseURL: "http://gpu-box:8000", hasKey: true)?.contains("plain http") == true)
        #expect(ServedCredentials.plainTextWarning(baseURL: "http://gpu-box:8000", hasKey: false) == nil)
        #expect(ServedCredentials.plainTextWarning(baseURL: "https://api.example.com", hasKey: true) == nil)
        for local in ["http://localhost:8000", "http://127.0.0.1:8080/v1", "http://[::1]:8000"] {
            #expect(ServedCredentials.plainTextWarning(baseURL: local, hasKey: true) == nil, "\(local)")
        }
        #expect(ServedCredentials.withoutUserInfo("https://u:p@host:1/v1") == "https://host:1/v1")
        #expect(!ServedCredentials.hasUserInfo("http://host/v1?next=a@b"))
    }

    // MARK: What is an answer

    @Test func emptyContentIsAnError() async throws {
        let server = try TestHTTPServer { _, _ in .json(reply("", logprobs: false)) }
        defer { server.stop() }
        let error = await failure { _ = try await model(server).respond(to: [request()]) }
        #expect(error?.message.contains("choices[0].message.content is empty") == true, "\(String(describing: error))")
    }

    @Test func missingFinishReasonIsAnError() async throws {
        let body = #"{"choices":[{"index":0,"message":{"role":"assistant","content":"Hello"}}],"model":"m"}"#
        let server = try TestHTTPServer { _, _ in .json(body) }
        defer { server.stop() }
        let error = await failure { _ = try await model(server).respond(to: [request()]) }
        #expect(error?.message.contains("no choices[0].finish_reason") == true, "\(String(describing: error))")
        #expect(server.requests.count == 1)
    }

    @Test func aChangedServedModelIsAnErrorNotAnAnswer() async throws {
        let server = try TestHTTPServer { _, index in
            .json(reply("x", logprobs: false).replacingOccurrences(of: #""model":"m""#, with: index == 0 ? #""model":"q4""# : #""model":"q8""#))
        }
        defer { server.stop() }
        let client = model(server)
        #expect(try await client.respond(to: [request()]).first?.servedModel == "q4")
        do {
            _ = try await client.respond(to: [request("again")])
            Issue.record("an answer from another model was accepted")
        } catch let error as ServedModelChanged {
            #expect(error.description.contains("it was model q4, system_fingerprint (none), it is now model q8"), "\(error)")
        }
    }

    // MARK: Server kinds

    @Test func openAIKindCapsAlternativesAndOmitsWhatItRejects() async throws {
        let server = try TestHTTPServer { _, _ in .json(reply("B")) }
        defer { server.stop() }
        let client = model(server, kind: .openai)
        _ = try await client.respond(to: [request(topLogprobs: 50)])
        let json = try #require(server.requests.first?.json)
        #expect(json["top_logprobs"] as? Int == 20)
        #expect(json["top_k"] == nil && json["min_p"] == nil)
        let error = await failure { _ = try await client.respond(to: [request(topK: 40)]) }
        #expect(error?.message.contains("top_k 40 cannot be sent") == true)
        #expect(server.requests.count == 1, "refused before sending")
    }

    @Test func vllmKindSpellsNoCutAsMinusOne() throws {
        let sent = try ServerKind.vllm.sampling(for: request(topLogprobs: 5), endpoint: .chat)
        #expect(sent["top_k"] == .integer(-1))
        #expect(sent["min_p"] == .integer(0))
        #expect(sent["top_logprobs"] == .integer(5))
        #expect(try ServerKind.openai.sampling(for: request(topLogprobs: 50), endpoint: .completions)["logprobs"] == .integer(5))
    }

    @Test func serverKindIsDetectedFromTheListing() async throws {
        let server = try TestHTTPServer { request, _ in
            request.path == "/v1/models"
                ? .json(#"{"object":"list","data":[{"id":"models/x.gguf","object":"model","created":1796046474,"owned_by":"llamacpp","meta":{"n_params":134515008,"size":95000000}}]}"#)
                : .json(reply("ok", logprobs: false))
        }
        defer { server.stop() }
        let client = model(server)
        let identity = try await client.establishIdentity(archived: nil)
        #expect(client.serverKind == .llamaCpp)
        let served = try #require(identity.served)
        #expect(served.kind == "llama.cpp" && served.endpoint == "chat")
        #expect(served.listing == #"{"id":"models/x.gguf","meta":{"n_params":134515008,"size":95000000},"object":"model","owned_by":"llamacpp"}"#,
                "the listing without its volatile created time")
        #expect(server.requests.first?.headers["authorization"] == "Bearer sk-test")
    }

    @Test func serverWithoutAListingKeepsOnlyTheReplyChecks() async throws {
        let server = try TestHTTPServer { request, _ in
            request.method == "GET" ? .json(#"{"error":"not found"}"#, status: 404) : .json(reply("ok", logprobs: false))
        }
        defer { server.stop() }
        let client = model(server)
        let identity = try await client.establishIdentity(archived: nil)
        #expect(identity.served == ServedIdentity(kind: "generic", endpoint: "chat", listing: ""))
        #expect(server.requests.map(\.path) == ["/v1/models"], "a 404 listing is not retried")
    }

    @Test func listingEntryIsChosenByModelName() {
        let list = Array(#"{"object":"list","data":[{"id":"gpt-4o","created":1,"owned_by":"system"},{"id":"test-model","created":2,"owned_by":"openai"}]}"#.utf8)
        let chosen = ModelListing.read(list, model: "test-model")
        #expect(chosen?.entry == #"{"id":"test-model","owned_by":"openai"}"#)
        #expect(ModelListing.read(list, model: "absent")?.entry == "", "several entries and none named: no listing")
        #expect(ModelListing.read(list, model: "absent")?.ownedBy == "system", "the kind still shows")
        #expect(ModelListing.read(Array("[]".utf8), model: "m") == nil)
    }

    // MARK: Streaming delivery

    @Test func oneFailureInAChunkStillDeliversTheOthers() async throws {
        let server = try TestHTTPServer { request, _ in
            let text = (request.json?["messages"] as? [[String: String]])?.last?["content"] ?? ""
            return text == "q3" ? .json(#"{"error":{"message":"bad"}}"#, status: 400)
                : .json(reply("echo " + text, logprobs: false), delay: 0.2)
        }
        defer { server.stop() }
        let delivered = Delivered()
        let client = model(server, maxInFlight: 8)
        let error = await failure {
            try await client.respond(to: (0..<8).map { request("q\($0)") }) { index, response in delivered.add(index, response.text) }
        }
        #expect(error?.status == 400)
        #expect(delivered.all.sorted { $0.0 < $1.0 }.map(\.1) == [0, 1, 2, 4, 5, 6, 7].map { "echo q\($0)" },
                "the seven answers in flight with the failure are delivered before it is thrown")
    }

    @Test func capacityIsMaxInFlightAndTheNextStartsAsOneReturns() async throws {
        // The slow request answers only once the server has seen all seven: in lockstep
        // chunks of two it would wait in vain (until the 120 s cap) for requests that start
        // after it returns.
        let arrivals = Arrivals()
        let server = try TestHTTPServer { request, _ in
            let text = (request.json?["messages"] as? [[String: String]])?.last?["content"] ?? ""
            arrivals.add()
            if text == "slow" { arrivals.slowSawAll = arrivals.wait(for: 7, seconds: 120) }
            return .json(reply(text, logprobs: false))
        }
        defer { server.stop() }
        let client = model(server, maxInFlight: 2)
        #expect(client.capacity == 2)
        let delivered = Delivered()
        try await client.respond(to: [request("slow")] + (0..<6).map { request("q\($0)") }) { index, response in
            delivered.add(index, response.text)
        }
        #expect(arrivals.slowSawAll, "the six quick requests ran while the slow one was in flight")
        #expect(delivered.all.count == 7)
    }
}

/// Counts requests as the server receives them.
private final class Arrivals: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    private var saw = false
    var slowSawAll: Bool {
        get { lock.withLock { saw } }
        set { lock.withLock { saw = newValue } }
    }
    func add() { lock.withLock { count += 1 } }
    func wait(for target: Int, seconds: Double) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if lock.withLock({ count >= target }) { return true }
            usleep(10_000)
        }
        return false
    }
}

private final class Delivered: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [(Int, String)] = []
    func add(_ index: Int, _ text: String) { lock.withLock { items.append((index, text)) } }
    var all: [(Int, String)] { lock.withLock { items } }
}
