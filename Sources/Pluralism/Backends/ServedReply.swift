import Foundation

/// Reads a 2xx reply of `/v1/chat/completions` or `/v1/completions` into a `ModelResponse`,
/// trusting nothing: a reply is text from another program, and anything missing or odd is
/// an error naming what is wrong rather than an answer made up from defaults.
///
/// - `finish_reason` is required ("stop"-like or "length"); a reply without one cannot be
///   told apart from a cut one.
/// - Empty content is an error, unless the reply carries its generated tokens' log-probs
///   (one token that is half a UTF-8 character has no text of its own).
/// - Log-probs are read in both shapes servers send: the chat shape
///   (`logprobs.content[] = {token, logprob, bytes, top_logprobs[]}`, which llama.cpp also
///   uses on `/v1/completions`) and OpenAI's legacy completions shape (`logprobs.tokens[]`,
///   `token_logprobs[]`, `top_logprobs[] = {token: logprob}`).
/// - A token's text is read from its `bytes` when the server sends them (llama.cpp sends
///   `"token": ""` for a partial character), and the bytes are kept beside it.
struct ServedReply {
    /// Why a body cannot be used. `truncated` marks a body that is not even valid JSON: most
    /// likely cut off in transit, so worth another attempt.
    struct Problem: Error {
        var message: String
        var truncated = false
    }

    private struct Body: Decodable {
        struct Choice: Decodable {
            struct Message: Decodable { var content: String? }
            var message: Message?
            var text: String?
            var finish_reason: String?
            var logprobs: Logprobs?
        }
        struct Logprobs: Decodable {
            // Chat shape.
            var content: [Entry]?
            // Legacy completions shape.
            var tokens: [String]?
            var token_logprobs: [Double?]?
            var top_logprobs: [[String: Double]?]?
        }
        struct Entry: Decodable {
            var token: String
            var logprob: Double
            var bytes: [UInt8]?
            var top_logprobs: [Alternative]?
        }
        struct Alternative: Decodable {
            var token: String
            var logprob: Double
            var bytes: [UInt8]?
        }
        struct Usage: Decodable { var prompt_tokens: Int? }
        var choices: [Choice]?
        var usage: Usage?
        var model: String?
        var system_fingerprint: String?
    }

    static func decode(_ data: Data, endpoint: ServedEndpoint, alternativesRequested: Int) throws(Problem) -> ModelResponse {
        let body: Body
        do {
            body = try JSONDecoder().decode(Body.self, from: data)
        } catch DecodingError.dataCorrupted(let context) {
            let reason = context.underlyingError.map { "\($0.localizedDescription)" } ?? context.debugDescription
            throw Problem(message: "malformed JSON in the reply (\(reason))", truncated: true)
        } catch {
            throw Problem(message: "unexpected reply shape (\(describe(error)))")
        }
        guard let choice = body.choices?.first else { throw Problem(message: "the reply has no choices") }
        let field = endpoint == .chat ? "choices[0].message.content" : "choices[0].text"
        guard let text = endpoint == .chat ? choice.message?.content : choice.text else {
            throw Problem(message: "the reply has no \(field)")
        }

        let finishReason: ModelResponse.FinishReason
        switch choice.finish_reason {
        case "stop", "eos", "end_turn", "stop_sequence": finishReason = .stop
        case "length", "max_tokens": finishReason = .length
        case nil:
            throw Problem(message: "the reply has no choices[0].finish_reason, so a complete answer cannot be told from a cut one")
        case let other?:
            throw Problem(message: "the reply stopped for \"\(other)\", not a normal stop or the length limit")
        }

        let steps = Self.steps(choice.logprobs)
        if text.isEmpty && steps.isEmpty {
            throw Problem(message: "the reply's \(field) is empty (finish_reason \(choice.finish_reason ?? "none"))")
        }
        if alternativesRequested > 0 {
            guard let first = steps.first else {
                throw Problem(message: "log-probabilities were requested (\(alternativesRequested) alternatives) but the reply has none; does the server support logprobs?")
            }
            guard !first.top.isEmpty else {
                throw Problem(message: "top_logprobs were requested but the reply's first token lists no alternatives")
            }
        }
        return ModelResponse(
            text: text, steps: steps, finishReason: finishReason, promptTokens: body.usage?.prompt_tokens ?? 0,
            servedModel: body.model, systemFingerprint: body.system_fingerprint)
    }

    private static func steps(_ logprobs: Body.Logprobs?) -> [GeneratedStep] {
        guard let logprobs else { return [] }
        if let content = logprobs.content {
            return content.map { entry in
                GeneratedStep(
                    token: text(entry.token, bytes: entry.bytes), logprob: entry.logprob,
                    top: (entry.top_logprobs ?? []).map {
                        TokenLogprob(token: text($0.token, bytes: $0.bytes), logprob: $0.logprob, bytes: $0.bytes)
                    },
                    bytes: entry.bytes)
            }
        }
        guard let tokens = logprobs.tokens else { return [] }
        return tokens.enumerated().map { index, token in
            let logprob = logprobs.token_logprobs?[safe: index].flatMap { $0 } ?? -.infinity
            let alternatives = (logprobs.top_logprobs?[safe: index].flatMap { $0 } ?? [:])
                .map { TokenLogprob(token: $0.key, logprob: $0.value) }
                // A JSON object has no order: best first, ties by token text for a stable list.
                .sorted { $0.logprob != $1.logprob ? $0.logprob > $1.logprob : $0.token < $1.token }
            return GeneratedStep(token: token, logprob: logprob, top: alternatives)
        }
    }

    /// The token's text from its bytes when they are given (invalid or partial UTF-8 shows
    /// as replacement characters; the bytes stay exact beside it).
    private static func text(_ token: String, bytes: [UInt8]?) -> String {
        guard let bytes, !bytes.isEmpty else { return token }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            return "missing \(path(context.codingPath + [key]))"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "\(path(context.codingPath)): \(context.debugDescription)"
        default:
            return "\(error)"
        }
    }

    private static func path(_ keys: [CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().drop { $0 == "." }.description
    }
}

extension Array {
    fileprivate subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
