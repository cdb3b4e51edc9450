import ContentHash
import Foundation

/// Answers to OpenAI chat-completions requests that are a function of the request's bytes
/// alone, for the loopback server: a run against it is reproducible (the same digest
/// whatever the concurrency or the order answers come back in) without any model.
///
/// A request asking for `top_logprobs` gets one token whose alternatives are the letters
/// A…H, with log-probabilities read from the request's sha256; any other gets the text
/// "reply <first 12 hex digits of the sha256>".
public enum ScriptedChatCompletions {
    public static func reply(path: String, body: Data) -> (status: Int, body: Data) {
        guard path.hasSuffix("/chat/completions"),
              let request = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
        else { return (404, Data(#"{"error":{"message":"POST /v1/chat/completions with a JSON body"}}"#.utf8)) }
        var hash = SHA256()
        hash.update(Array(body))
        let digest = hash.finalize()
        let alternatives = (request["top_logprobs"] as? Int) ?? 0
        let choice: [String: Any]
        if alternatives > 0 {
            let weights = digest.prefix(8).map { Double($0 % 16) + 1 }
            let total = weights.reduce(0, +) / 0.9
            var top: [[String: Any]] = zip(["A", "B", "C", "D", "E", "F", "G", "H"], weights).map { letter, weight in
                ["token": letter, "logprob": log(weight / total)]
            }
            top.append(["token": " The", "logprob": log(0.1)])
            top.sort { ($0["logprob"] as! Double) > ($1["logprob"] as! Double) }
            top = Array(top.prefix(alternatives))
            choice = [
                "message": ["role": "assistant", "content": top[0]["token"]!],
                "finish_reason": "length",
                "logprobs": ["content": [["token": top[0]["token"]!, "logprob": top[0]["logprob"]!, "top_logprobs": top]]],
            ]
        } else {
            choice = [
                "message": ["role": "assistant", "content": "reply \(SHA256.hex(digest).prefix(12))"],
                "finish_reason": "stop",
            ]
        }
        let reply: [String: Any] = ["choices": [choice], "usage": ["prompt_tokens": body.count / 4]]
        return (200, (try? JSONSerialization.data(withJSONObject: reply, options: [.sortedKeys])) ?? Data())
    }
}
