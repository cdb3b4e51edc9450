import ContentHash
import Foundation

/// Answers to OpenAI chat-completions requests that are a function of the request's bytes
/// alone, for the loopback server: a run against it is reproducible (the same digest
/// whatever the concurrency or the order answers come back in) without any model.
///
/// A request asking for `top_logprobs` gets one token whose alternatives are the letters
/// A…H, with log-probabilities read from the request's sha256; any other gets the text
/// "reply <first 12 hex digits of the sha256>". The reply is written directly, not through
/// a JSON library: the server shares the machine with the client it measures.
public enum ScriptedChatCompletions {
    public static func reply(path: String, body: Data) -> (status: Int, body: Data) {
        guard path.hasSuffix("/chat/completions"), body.first == UInt8(ascii: "{") else {
            return (404, Data(#"{"error":{"message":"POST /v1/chat/completions with a JSON body"}}"#.utf8))
        }
        var hash = SHA256()
        hash.update(Array(body))
        let digest = hash.finalize()
        let usage = #""usage":{"prompt_tokens":\#(body.count / 4)}"#
        let alternatives = topLogprobs(in: body)
        guard alternatives > 0 else {
            let text = "reply \(SHA256.hex(digest).prefix(12))"
            return (200, Data(#"{"choices":[{"finish_reason":"stop","message":{"content":"\#(text)","role":"assistant"}}],\#(usage)}"#.utf8))
        }
        let weights = digest.prefix(8).map { Double($0 % 16) + 1 }
        let total = weights.reduce(0, +) / 0.9
        var top = zip(["A", "B", "C", "D", "E", "F", "G", "H"], weights).map { ($0, log($1 / total)) }
        top.append((" The", log(0.1)))
        top.sort { $0.1 > $1.1 }
        top = Array(top.prefix(alternatives))
        let list = top.map { #"{"logprob":\#($0.1),"token":"\#($0.0)"}"# }.joined(separator: ",")
        let first = top[0]
        let choice = #"{"finish_reason":"length","logprobs":{"content":[{"logprob":\#(first.1),"token":"\#(first.0)","top_logprobs":[\#(list)]}]},"message":{"content":"\#(first.0)","role":"assistant"}}"#
        return (200, Data(#"{"choices":[\#(choice)],\#(usage)}"#.utf8))
    }

    /// The request's `"top_logprobs":n` (0 when absent). The client writes bodies without
    /// spaces, and inside a JSON string a quote is escaped, so the pattern is the key.
    static func topLogprobs(in body: Data) -> Int {
        let marker = Array(#""top_logprobs":"#.utf8)
        let bytes = Array(body)
        guard bytes.count > marker.count else { return 0 }
        var start = bytes.count - marker.count
        while start >= 0 {
            if bytes[start] == marker[0] && Array(bytes[start..<start + marker.count]) == marker {
                var value = 0
                var position = start + marker.count
                while position < bytes.count, (48...57).contains(bytes[position]) {
                    value = value * 10 + Int(bytes[position] - 48)
                    position += 1
                }
                return value
            }
            start -= 1
        }
        return 0
    }
}
