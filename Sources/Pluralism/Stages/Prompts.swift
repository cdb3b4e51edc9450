import Foundation

/// Every prompt the pipeline sends. The wording is this project's own; the structure follows
/// the method (community comments, then a base model that synthesizes them).
///
/// A prompt change changes the archive keys of the calls it touches and, through
/// `PipelineVersion.current` (which hashes every prompt), the run id: a stored run is never
/// resumed with a mix of old and new prompts.
public enum Prompts {
    /// The letters that label multiple-choice options (A…Z: at most 26 options).
    public static let optionLetters: [String] = (0..<26).map { String(UnicodeScalar(UInt8(65 + $0))) }

    // MARK: Community comments

    /// A community model's comment on an item: its system prompt and profile document set the
    /// voice; the user turn asks for a short comment from that perspective.
    public static func comment(item: Item, community: CommunitySpec) -> [ChatMessage] {
        var system = community.systemPrompt
        let profile = community.profile.trimmingCharacters(in: .whitespacesAndNewlines)
        if !profile.isEmpty {
            system += "\n\nAbout your community:\n" + profile
        }
        var user = "Here is a question people disagree about:\n\n\(item.text)\n"
        if !item.options.isEmpty {
            user += "\nThe possible answers are: " + item.options.joined(separator: "; ") + ".\n"
        }
        user += """

        In a few sentences, say how your community sees this: what matters most here, \
        and why. Speak from your community's point of view.
        """
        return [.system(system), .user(user)]
    }

    // MARK: Base model: synthesis

    static let assistant = "You are a thoughtful assistant."

    /// Overton: the base model reads every comment as a numbered passage and responds to the
    /// situation so that the range of reasonable views shows.
    public static func overton(item: Item, comments: [String]) -> [ChatMessage] {
        let user = """
        \(numbered(comments, label: "Passage"))

        Situation: \(item.text)

        Using the passages above, respond to the situation. Cover the different values and \
        perspectives people bring to it, not just one side.
        """
        return [.system(assistant), .user(user)]
    }

    /// Steerable, step 1: which comment best reflects the attribute? The situation comes
    /// first and the comments as a plain numbered list: small models otherwise tend to echo
    /// the system prompt instead of answering (tried with SmolLM2-135M).
    public static func steerableSelection(item: Item, attribute: String, comments: [String]) -> [ChatMessage] {
        let list = comments.enumerated().map { "\($0.offset + 1). \($0.element)" }.joined(separator: "\n")
        let user = """
        Situation: \(item.text)

        Comments:
        \(list)

        Which comment best reflects the value or attribute "\(attribute)"? \
        Answer with the number of the comment (1 to \(comments.count)).
        """
        return [.system(assistant), .user(user)]
    }

    /// MoE, step 1: which community is the best expert, judged from names and descriptions
    /// only (no comments seen). Question first, then the list, then a short instruction: with
    /// the list first SmolLM2-135M spent its tokens on "The expert who is best placed…" and
    /// never named a number.
    public static func expertSelection(item: Item, communities: [(name: String, description: String)]) -> [ChatMessage] {
        let list = communities.enumerated().map { "\($0.offset + 1). \($0.element.name): \($0.element.description)" }
            .joined(separator: "\n")
        var user = "Question: \(item.text)\n"
        if let attribute = item.attribute { user += "Perspective asked for: \(attribute)\n" }
        user += "\nWhich of these experts should answer it?\n\(list)\n\nReply with the expert's number only."
        return [.system(assistant), .user(user)]
    }

    /// A free-text answer with one helping passage (steerable step 2 and MoE on open items).
    public static func answerWithPassage(item: Item, passage: String, attribute: String?) -> [ChatMessage] {
        var user = "Helpful passage: \(passage)\n\nQuestion: \(item.text)\n"
        if let attribute { user += "Answer from this perspective: \(attribute).\n" }
        user += "\nUsing the passage, give your answer in a few sentences."
        return [.system(assistant), .user(user)]
    }

    /// A one-letter multiple-choice answer with one helping passage; the option distribution
    /// is read from the first token's log-probabilities.
    public static func choiceWithPassage(item: Item, passage: String, attribute: String?) -> [ChatMessage] {
        var user = "Helpful passage: \(passage)\n\n"
        user += choiceBody(item: item, attribute: attribute)
        return [.system(assistant), .user(user)]
    }

    // MARK: Baselines

    /// Vanilla: the item as is. Multiple-choice items become a one-letter question.
    public static func vanilla(item: Item) -> [ChatMessage] {
        if !item.options.isEmpty {
            return [.system(assistant), .user(choiceBody(item: item, attribute: item.attribute))]
        }
        var user = item.text
        if let attribute = item.attribute { user += "\n\nPerspective: \(attribute)" }
        return [.system(assistant), .user(user)]
    }

    /// Prompting: the item with an instruction to be pluralistic, phrased for its mode.
    public static func prompting(item: Item) -> [ChatMessage] {
        let instruction: String
        switch item.mode {
        case .overton:
            instruction = "Respond so that the full range of values and perspectives people hold on this shows, not just one view."
        case .steerable:
            instruction = "Respond as someone who holds this value or attribute would: \(item.attribute ?? "the stated perspective")."
        case .distributional:
            let who = item.population.map { "people in \($0)" } ?? "people in general"
            instruction = "Choose the answer that reflects how \(who) would actually answer, not your own view."
        }
        if !item.options.isEmpty {
            return [.system(assistant), .user(instruction + "\n\n" + choiceBody(item: item, attribute: item.attribute))]
        }
        return [.system(assistant), .user(item.text + "\n\n" + instruction)]
    }

    // MARK: Parts

    static func numbered(_ texts: [String], label: String) -> String {
        texts.enumerated().map { "\(label) \($0.offset + 1): \($0.element)" }.joined(separator: "\n\n")
    }

    /// The question, the perspective if any, the lettered options, and the instruction to
    /// answer with one letter (the reply's first token is where the distribution is read).
    static func choiceBody(item: Item, attribute: String?) -> String {
        var body = "Question: \(item.text)\n"
        if let attribute { body += "Perspective: \(attribute)\n" }
        body += "\n"
        for (index, option) in item.options.enumerated() {
            body += "\(optionLetters[index]). \(option)\n"
        }
        let last = optionLetters[max(0, item.options.count - 1)]
        let which = attribute == nil ? "Which option is the best answer?" : "Which option fits best from this perspective?"
        body += "\n\(which) Reply with one letter (A to \(last)) and nothing else."
        return body
    }
}
