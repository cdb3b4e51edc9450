/// Which OpenAI-compatible server a model runs on, because they differ in which decoding
/// parameters they honour and what they do when one is left out.
///
/// Every parameter is sent explicitly so that no server default decides the sampling: a
/// `top_k` of 0 in the config ("no cut") is sent as the kind's spelling of "no cut" rather
/// than omitted (llama.cpp would otherwise cut at 40), and `min_p: 0` is sent where the
/// server knows it (llama.cpp's default is 0.05). What is sent is what the archive key
/// records (`sampling(for:)`).
public enum ServerKind: String, CaseIterable, Sendable {
    /// llama.cpp's `llama-server`: honours `top_k` (0 = no cut), `top_p`, `min_p`, `seed`, and
    /// returns as many `top_logprobs` as asked.
    case llamaCpp = "llama.cpp"
    /// vLLM: honours `top_k` (-1 = no cut; older releases reject 0), `top_p`, `min_p`, `seed`;
    /// more `top_logprobs` than its `--max-logprobs` (default 20) is an HTTP 400, never a cut.
    case vllm
    /// Ollama's OpenAI endpoint: reads `temperature`, `top_p`, `seed`, `max_tokens`; it
    /// ignores `top_k` and `min_p` (its model defaults apply when sampling).
    case ollama
    /// OpenAI's API: rejects `top_k` and `min_p`, caps `top_logprobs` at 20 (5 on
    /// `/v1/completions`); `seed` is best effort.
    case openai
    /// Any other server: everything is sent, spelt as llama.cpp spells it.
    case generic

    /// The kind a server's `/v1/models` listing reveals through its `owned_by` field.
    static func detect(ownedBy: String?) -> ServerKind {
        switch ownedBy?.lowercased() {
        case "llamacpp", "llama.cpp": .llamaCpp
        case "vllm": .vllm
        case "library", "ollama": .ollama
        case "openai", "system", "openai-internal": .openai
        default: .generic
        }
    }

    /// The most alternatives per token this kind returns, nil when it returns what is asked.
    func alternativesCap(endpoint: ServedEndpoint) -> Int? {
        guard self == .openai else { return nil }
        return endpoint == .chat ? 20 : 5
    }

    /// The decoding fields of a request body, exactly as sent; the archive key holds them.
    /// Throws when the request needs something this kind cannot do (a `top_k` cut on OpenAI).
    func sampling(for request: ModelRequest, endpoint: ServedEndpoint) throws(UnsupportedParameter) -> [String: JSON] {
        let decoding = request.decoding
        var fields: [String: JSON] = [
            "temperature": .double(decoding.temperature),
            "top_p": .double(decoding.topP),
            "max_tokens": .integer(Int64(decoding.maxTokens)),
            "seed": .integer(Int64(bitPattern: request.sampleSeed & UInt64(Int64.max))),
        ]
        switch self {
        case .openai:
            if decoding.topK > 0 {
                throw UnsupportedParameter(message: "top_k \(decoding.topK) cannot be sent to OpenAI's API (it rejects top_k); use top_k 0 for this model")
            }
        case .vllm:
            fields["top_k"] = .integer(Int64(decoding.topK > 0 ? decoding.topK : -1))
            fields["min_p"] = .integer(0)
        case .llamaCpp, .ollama, .generic:
            fields["top_k"] = .integer(Int64(decoding.topK))
            fields["min_p"] = .integer(0)
        }
        if request.topLogprobs > 0 {
            let count = alternativesCap(endpoint: endpoint).map { min($0, request.topLogprobs) } ?? request.topLogprobs
            switch endpoint {
            case .chat:
                fields["logprobs"] = .bool(true)
                fields["top_logprobs"] = .integer(Int64(count))
            case .completions:
                fields["logprobs"] = .integer(Int64(count))
            }
        }
        return fields
    }
}

/// The two OpenAI endpoints a served model can be asked through.
public enum ServedEndpoint: String, Sendable {
    /// `/v1/chat/completions`: the server applies the model's chat template.
    case chat
    /// `/v1/completions`: for base (non-chat) models; the prompt is the messages' texts
    /// joined by blank lines, with no template.
    case completions

    var path: String { self == .chat ? "/v1/chat/completions" : "/v1/completions" }
}

/// A request asks for something the server kind cannot do.
public struct UnsupportedParameter: Error, Sendable {
    public var message: String
}
