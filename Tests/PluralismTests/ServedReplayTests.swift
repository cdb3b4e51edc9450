import Foundation
import Testing
@testable import Pluralism

/// Replies in the shapes real servers send, replayed through the loopback server: small
/// hand-written ones that always run, and the real `llama-server` captures in
/// `../shared/reference/llama-server/` when that folder sits beside the clone.
@Suite struct ServedReplayTests {
    static let captures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("../shared/reference/llama-server").standardizedFileURL

    /// A recorded reply, or nil (with the reason printed) when the captures are not here.
    static func capture(_ name: String) -> Data? {
        let url = captures.appendingPathComponent(name)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            print("skipped: \(url.path) is absent (the real llama-server captures live beside the clone)")
            return nil
        }
        return data
    }

    static func replaying(_ recorded: Data, maxRetries: Int = 2, endpoint: ServedEndpoint = .chat) throws
        -> (TestHTTPServer, OpenAICompatibleModel) {
        let server = try TestHTTPServer { _, _ in .replay(recorded) }
        let model = OpenAICompatibleModel(baseURL: server.baseURL, model: "smol", apiKey: nil, maxRetries: maxRetries,
                                          timeout: 10, retryDelay: 0.001, server: .llamaCpp, endpoint: endpoint)
        return (server, model)
    }

    static func ask(topLogprobs: Int = 0) -> ModelRequest {
        ModelRequest(messages: [.system("Be brief."), .user("What is an apple?")],
                     decoding: Decoding(temperature: 0, maxTokens: 3, seed: 7), topLogprobs: topLogprobs)
    }

    // MARK: Hand-written replies of the same shapes

    /// llama.cpp's chat shape: `bytes` beside each token; one alternative is half of a
    /// four-byte character (`"token": ""`), two others render to the same text.
    static let chatShape = #"""
        {"choices":[{"finish_reason":"length","index":0,"message":{"role":"assistant","content":"Hi"},
        "logprobs":{"content":[{"id":9,"token":"Hi","bytes":[72,105],"logprob":-0.5,"top_logprobs":[
        {"id":9,"token":"Hi","bytes":[72,105],"logprob":-0.5},
        {"id":10,"token":"","bytes":[240,159],"logprob":-1.5},
        {"id":11,"token":" ","bytes":[32,240,159],"logprob":-2.5},
        {"id":12,"token":" ","bytes":[32,240,159,152],"logprob":-3.5}]}]}}],
        "created":1,"model":"models/tiny.gguf","system_fingerprint":"b1-abc","object":"chat.completion",
        "usage":{"completion_tokens":1,"prompt_tokens":9,"total_tokens":10},"timings":{"prompt_n":9}}
        """#

    @Test func chatShapeKeepsTokenBytesSoAlternativesStayDistinct() async throws {
        let (server, model) = try Self.replaying(Data(Self.chatShape.utf8))
        defer { server.stop() }
        let answer = try #require(try await model.respond(to: [Self.ask(topLogprobs: 4)]).first)
        #expect(answer.text == "Hi" && answer.finishReason == .length && answer.promptTokens == 9)
        #expect(answer.servedModel == "models/tiny.gguf" && answer.systemFingerprint == "b1-abc")
        let top = try #require(answer.steps.first?.top)
        #expect(top.map(\.bytes) == [[72, 105], [240, 159], [32, 240, 159], [32, 240, 159, 152]])
        #expect(top[1].token == "\u{FFFD}", "text read from the bytes, not the empty token")
        #expect(top[2].token == top[3].token, "two tokens render alike …")
        #expect(Set(top).count == 4, "… but stay distinct alternatives")
    }

    @Test func completionsInTheChatStyleShape() async throws {
        let body = #"{"choices":[{"text":" Paris","index":0,"finish_reason":"stop","logprobs":{"content":[{"id":1,"token":" Paris","bytes":[32,80,97,114,105,115],"logprob":-0.25,"top_logprobs":[{"id":1,"token":" Paris","bytes":[32,80,97,114,105,115],"logprob":-0.25},{"id":2,"token":" the","bytes":[32,116,104,101],"logprob":-2.75}]}]}}],"model":"models/tiny.gguf","object":"text_completion"}"#
        let (server, model) = try Self.replaying(Data(body.utf8), endpoint: .completions)
        defer { server.stop() }
        let answer = try #require(try await model.respond(to: [Self.ask(topLogprobs: 2)]).first)
        #expect(answer.text == " Paris" && answer.finishReason == .stop)
        #expect(answer.steps.first?.top.map(\.token) == [" Paris", " the"])
        let sent = try #require(server.requests.first)
        #expect(sent.path == "/v1/completions")
        #expect(sent.json?["prompt"] as? String == "Be brief.\n\nWhat is an apple?")
        #expect(sent.json?["logprobs"] as? Int == 2, "/v1/completions takes a count")
        #expect(sent.json?["messages"] == nil)
    }

    @Test func completionsInOpenAIsLegacyShape() async throws {
        let body = #"{"choices":[{"text":" Paris.","index":0,"finish_reason":"length","logprobs":{"tokens":[" Paris","."],"token_logprobs":[-0.25,-0.5],"top_logprobs":[{" the":-2.75," Paris":-0.25},{".":-0.5,",":-1.5}],"text_offset":[0,6]}}],"model":"davinci-002","object":"text_completion"}"#
        let (server, model) = try Self.replaying(Data(body.utf8), endpoint: .completions)
        defer { server.stop() }
        let answer = try #require(try await model.respond(to: [Self.ask(topLogprobs: 2)]).first)
        #expect(answer.steps.map(\.token) == [" Paris", "."])
        #expect(answer.steps.map(\.logprob) == [-0.25, -0.5])
        #expect(answer.steps[0].top == [TokenLogprob(token: " Paris", logprob: -0.25), TokenLogprob(token: " the", logprob: -2.75)],
                "alternatives best first, whatever the object's order")
        #expect(answer.isTruncated)
    }

    @Test func recordedHTTPErrorIsReadWithItsStatus() async throws {
        let recorded = "HTTP/1.1 400 Bad Request\r\nServer: test\r\nContent-Type: application/json\r\nContent-Length: 60\r\nConnection: close\r\n\r\n"
            + #"{"error":{"code":400,"message":"no","type":"invalid_request_error"}}"#
        let (server, model) = try Self.replaying(Data(recorded.utf8))
        defer { server.stop() }
        do {
            _ = try await model.respond(to: [Self.ask()])
            Issue.record("a 400 was accepted")
        } catch let error as ModelCallError {
            #expect(error.status == 400 && error.message.contains("invalid_request_error"))
        }
        #expect(server.requests.count == 1)
    }

    // MARK: The real llama-server captures

    @Test func realChatWithLogprobs() async throws {
        guard let recorded = Self.capture("chat_logprobs.json") else { return }
        let (server, model) = try Self.replaying(recorded)
        defer { server.stop() }
        let answer = try #require(try await model.respond(to: [Self.ask(topLogprobs: 5)]).first)
        #expect(answer.text == "A fruit is")
        #expect(answer.finishReason == .length)
        #expect(answer.promptTokens == 30)
        #expect(answer.steps.map(\.token) == ["A", " fruit", " is"])
        #expect(answer.steps.allSatisfy { $0.top.count == 5 && $0.bytes != nil })
        #expect(answer.servedModel == "models/SmolLM2-135M-Instruct.Q4_1.gguf")
        #expect(answer.systemFingerprint == "b1-0c1e570")
    }

    @Test func realChatWithoutLogprobs() async throws {
        guard let recorded = Self.capture("chat_plain.json") else { return }
        let (server, model) = try Self.replaying(recorded)
        defer { server.stop() }
        let answer = try #require(try await model.respond(to: [Self.ask()]).first)
        #expect(answer.text == "Hello there. I'm here to help")
        #expect(answer.steps.isEmpty)
        #expect(answer.isTruncated)
    }

    @Test func realFiftyAlternativesAreAllKeptAndDistinct() async throws {
        guard let recorded = Self.capture("chat_top50.json") else { return }
        let (server, model) = try Self.replaying(recorded)
        defer { server.stop() }
        let answer = try #require(try await model.respond(to: [Self.ask(topLogprobs: 50)]).first)
        #expect(server.requests.first?.json?["top_logprobs"] as? Int == 50, "asked for 50, not capped at 20")
        #expect(answer.steps.allSatisfy { $0.top.count == 50 })
        #expect(answer.steps[0].top.contains { $0.bytes == [240, 159] && $0.token == "\u{FFFD}" })
        for step in answer.steps {
            #expect(Set(step.top).count == 50, "every alternative distinct, even where two render alike")
        }
        #expect(answer.steps.contains { Set($0.top.map(\.token)).count < 50 }, "the capture has tokens whose texts collide")
    }

    @Test func realCompletionsAnswerInTheChatStyleShape() async throws {
        guard let recorded = Self.capture("completions_logprobs.json") else { return }
        let (server, model) = try Self.replaying(recorded, endpoint: .completions)
        defer { server.stop() }
        let answer = try #require(try await model.respond(to: [Self.ask(topLogprobs: 5)]).first)
        #expect(answer.text == " Paris.\n")
        #expect(answer.steps.map(\.token) == [" Paris", ".", "\n"])
        #expect(answer.steps.allSatisfy { $0.top.count == 5 })
        #expect(answer.finishReason == .length)
    }

    @Test func realBadRequestIsNotRetried() async throws {
        guard let recorded = Self.capture("bad_request.txt") else { return }
        let (server, model) = try Self.replaying(recorded)
        defer { server.stop() }
        do {
            _ = try await model.respond(to: [Self.ask()])
            Issue.record("a 400 was accepted")
        } catch let error as ModelCallError {
            #expect(error.status == 400)
            #expect(error.message.contains("Expected 'messages' to be an array"), "\(error)")
        }
        #expect(server.requests.count == 1)
    }
}
