// Chat formatting. SmolLM2's GGUF carries its template as Jinja (`tokenizer.chat_template`,
// quoted in `ChatTemplate.smolLM2Source`); rather than embed a Jinja interpreter, the one
// template is written out here, and a test checks the model file still carries exactly it.

/// ChatML, as SmolLM2-Instruct's template renders it:
///
///     <|im_start|>system
///     You are a helpful AI assistant.<|im_end|>
///     <|im_start|>user
///     What is the capital of France?<|im_end|>
///     <|im_start|>assistant
///
/// When the conversation does not open with a system turn, the template inserts its own
/// (`defaultSystemPrompt`) before the first turn; this renderer does the same.
public enum ChatTemplate {
    public struct Turn: Sendable, Hashable {
        /// "system", "user" or "assistant".
        public var role: String
        public var content: String

        public init(role: String, content: String) {
            self.role = role
            self.content = content
        }
    }

    /// The system turn SmolLM2's template adds when a conversation has none.
    public static let defaultSystemPrompt = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

    /// `tokenizer.chat_template` of SmolLM2-135M-Instruct's GGUF: what `render` reproduces.
    public static let smolLM2Source =
        "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
        + "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
        + "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
        + "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"

    static let turnStart = "<|im_start|>"
    static let turnEnd = "<|im_end|>"

    /// The prompt text, ending with "<|im_start|>assistant\n" when `addGenerationPrompt`, so
    /// that the model's continuation is the assistant's reply. Tokenize it with
    /// `parseSpecial: true` to turn the markers into their tokens.
    public static func render(_ turns: [Turn], addGenerationPrompt: Bool = true) -> String {
        var text = ""
        for segment in segments(turns, addGenerationPrompt: addGenerationPrompt) {
            switch segment {
            case .marker(let marker): text += marker
            case .text(let content): text += content
            }
        }
        return text
    }

    /// The prompt's token ids, with the turn markers as special tokens and everything else,
    /// contents included, as plain text: a turn that happens to contain "<|im_end|>" cannot
    /// end its turn early (model output and user input are untrusted text). For contents
    /// without special-token spellings this equals `tokenizer.encode(render(turns))`.
    public static func encode(_ turns: [Turn], addGenerationPrompt: Bool = true, tokenizer: Tokenizer) -> [Int32] {
        let start = tokenizer.specialTokenID(turnStart), end = tokenizer.specialTokenID(turnEnd)
        var ids: [Int32] = []
        var pendingText = ""
        func flushText() {
            if !pendingText.isEmpty { ids += tokenizer.encode(pendingText, parseSpecial: false) }
            pendingText = ""
        }
        for segment in segments(turns, addGenerationPrompt: addGenerationPrompt) {
            switch segment {
            case .marker(let marker):
                if let id = marker == turnStart ? start : end {
                    flushText()
                    ids.append(id)
                } else {
                    pendingText += marker
                }
            case .text(let content):
                // Text next to text is tokenized as one piece, exactly as in the rendered
                // string, so word boundaries fall where the full-text tokenization puts them.
                pendingText += content
            }
        }
        flushText()
        return ids
    }

    private enum Segment {
        case marker(String)
        case text(String)
    }

    private static func segments(_ turns: [Turn], addGenerationPrompt: Bool) -> [Segment] {
        var out: [Segment] = []
        func turn(_ role: String, _ content: String) {
            out += [.marker(turnStart), .text(role + "\n" + content), .marker(turnEnd), .text("\n")]
        }
        for (index, t) in turns.enumerated() {
            if index == 0 && t.role != "system" { turn("system", defaultSystemPrompt) }
            turn(t.role, t.content)
        }
        if addGenerationPrompt { out += [.marker(turnStart), .text("assistant\n")] }
        return out
    }
}
