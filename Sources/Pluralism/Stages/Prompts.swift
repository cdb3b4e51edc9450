import Foundation

/// Every prompt the pipeline sends. The wording is this project's own; the structure follows
/// the method (community comments, then a base model that synthesizes them).
///
/// A prompt change changes the archive keys of the calls it touches and, through
/// `PipelineVersion.current` (which hashes every prompt), the run id: a stored run is never
/// resumed with a mix of old and new prompts.
///
/// Prompts show what a model needs to answer and nothing else: never a community's or a
/// population's identifier (display labels or descriptions instead), and every question says
/// what it asks (a value item asks whether the situation supports or opposes the value).
public enum Prompts {
    /// The letters that label multiple-choice options (A…Z: at most 26 options).
    public static let optionLetters: [String] = (0..<26).map { String(UnicodeScalar(UInt8(65 + $0))) }

    /// How a list of candidates is labelled. Letters when the choice is read from
    /// next-token log-probabilities (each letter is one token in any tokenizer, where "10"
    /// may start like "1"); numbers when it is parsed from text (a number in a reply is far
    /// easier to tell from prose than a letter, "A" being a word).
    public enum CandidateLabels: Sendable {
        case letters, numbers

        public func label(_ position: Int) -> String {
            self == .letters ? optionLetters[position] : "\(position + 1)"
        }

        /// "A to F", "1 to 6".
        func span(_ count: Int) -> String { "\(label(0)) to \(label(max(0, count - 1)))" }
    }

    // MARK: Community comments

    /// A community model's comment on an item: its system prompt and profile document set the
    /// voice; the user turn asks for a short comment from that perspective on what the item
    /// asks (for a value item: whether the situation supports or opposes the value).
    public static func comment(item: Item, community: CommunitySpec) -> [ChatMessage] {
        var system = community.systemPrompt
        let profile = community.profile.trimmingCharacters(in: .whitespacesAndNewlines)
        if !profile.isEmpty {
            system += "\n\nAbout your community:\n" + profile
        }
        var user: String
        if item.steersByValue, let value = item.attribute {
            user = "Here is a situation:\n\n\(item.text)\n\n"
                + "Does it support or oppose the value \"\(value)\", or could it go either way?\n"
        } else if item.mode == .overton || item.steersByValue {
            user = "Here is a situation people disagree about:\n\n\(item.text)\n"
        } else {
            user = "Here is a question people disagree about:\n\n\(item.text)\n"
            if !item.options.isEmpty {
                user += "\nThe possible answers are: " + item.options.joined(separator: "; ") + ".\n"
            }
        }
        user += """

        In a few sentences, say how your community sees this: what matters most here, \
        and why. Speak from your community's point of view.
        """
        return [.system(system), .user(user)]
    }

    // MARK: Base model: synthesis

    static let assistant = "You are a thoughtful assistant."

    /// Overton: the base model reads every comment as a numbered passage, in the order the
    /// caller chose (a seeded permutation per item by default), and responds to the situation
    /// so that the range of reasonable views shows.
    public static func overton(item: Item, comments: [String]) -> [ChatMessage] {
        let user = """
        \(numbered(comments, label: "Passage"))

        Situation: \(item.text)

        Using the passages above, respond to the situation. Cover the different values and \
        perspectives people bring to it, not just one side.
        """
        return [.system(assistant), .user(user)]
    }

    /// Steerable, step 1: which comment best reflects the attribute? The item comes first and
    /// the comments as a plain labelled list (small models otherwise tend to echo the system
    /// prompt instead of answering; tried with SmolLM2-135M), and the prompt ends where the
    /// label goes.
    public static func steerableSelection(item: Item, comments: [String], labels: CandidateLabels) -> [ChatMessage] {
        let list = comments.enumerated().map { "\(labels.label($0.offset)). \($0.element)" }.joined(separator: "\n")
        let attribute = item.attribute ?? ""
        let question = item.steersByValue
            ? "Which comment best reflects the value \"\(attribute)\"?"
            : "Which comment best reflects the views of a person with this perspective: \(attribute)?"
        let user = """
        \(itemLines(item))
        Comments:
        \(list)

        \(question)
        \(selectionInstruction(labels, count: comments.count, noun: "comment"))
        """
        return [.system(assistant), .user(user)]
    }

    /// MoE, step 1: which community is the best expert, judged from its label and
    /// description only (no comments seen). Question first, then the list, then a short
    /// instruction: with the list first SmolLM2-135M spent its tokens on "The expert who is
    /// best placed…" and never named one.
    public static func expertSelection(item: Item, experts: [(label: String?, description: String)],
                                       labels: CandidateLabels) -> [ChatMessage] {
        let list = experts.enumerated().map { position, expert in
            "\(labels.label(position)). " + expertLine(label: expert.label, description: expert.description)
        }.joined(separator: "\n")
        let user = """
        \(itemLines(item))
        Which of these experts should answer it?
        \(list)

        \(selectionInstruction(labels, count: experts.count, noun: "expert"))
        """
        return [.system(assistant), .user(user)]
    }

    /// How an expert is listed: "Label: description", or the description alone.
    public static func expertLine(label: String?, description: String) -> String {
        label.map { "\($0): \(description)" } ?? description
    }

    /// A free-text answer with one helping passage (steerable step 2 and MoE on open items).
    public static func answerWithPassage(item: Item, passage: String) -> [ChatMessage] {
        var user = "Helpful passage: \(passage)\n\n\(itemLines(item))"
        if let ask = openQuestion(item) { user += "\n\(ask)" }
        user += "\nUsing the passage, give your answer in a few sentences."
        return [.system(assistant), .user(user)]
    }

    /// A one-letter multiple-choice answer with one helping passage, the options shown in
    /// `order`; the option distribution is read from the first token's log-probabilities.
    public static func choiceWithPassage(item: Item, passage: String, order: [Int]) -> [ChatMessage] {
        [.system(assistant), .user("Helpful passage: \(passage)\n\n" + choiceBody(item: item, order: order))]
    }

    // MARK: Baselines

    /// Vanilla: the item as is. Multiple-choice items become a one-letter question with the
    /// options in `order`.
    public static func vanilla(item: Item, order: [Int]) -> [ChatMessage] {
        if !item.options.isEmpty {
            return [.system(assistant), .user(choiceBody(item: item, order: order))]
        }
        if item.mode == .overton { return [.system(assistant), .user(item.text)] }
        var user = itemLines(item)
        if let ask = openQuestion(item) { user += "\n\(ask)" }
        return [.system(assistant), .user(user)]
    }

    /// Prompting: the item with an instruction to be pluralistic, phrased for its mode. A
    /// population is named by its label; one without a label (an ambiguity class) is not
    /// named at all.
    public static func prompting(item: Item, population: Population?, order: [Int]) -> [ChatMessage] {
        let instruction: String
        switch item.mode {
        case .overton:
            instruction = "Respond so that the full range of values and perspectives people hold on this shows, not just one view."
        case .steerable:
            let attribute = item.attribute ?? ""
            instruction = item.steersByValue
                ? "Judge the situation as someone who holds the value \"\(attribute)\" would."
                : "Answer as a person with this perspective would: \(attribute)."
        case .distributional:
            if let label = population?.label {
                instruction = "Choose the answer most people in this population would give, not your own view. Population: \(label)."
            } else {
                instruction = "Choose the answer most people would give, not your own view."
            }
        }
        if !item.options.isEmpty {
            return [.system(assistant), .user(instruction + "\n\n" + choiceBody(item: item, order: order))]
        }
        if item.mode == .overton { return [.system(assistant), .user(item.text + "\n\n" + instruction)] }
        var user = itemLines(item)
        if let ask = openQuestion(item) { user += "\n\(ask)" }
        return [.system(assistant), .user(user + "\n" + instruction)]
    }

    // MARK: Parts

    static func numbered(_ texts: [String], label: String) -> String {
        texts.enumerated().map { "\(label) \($0.offset + 1): \($0.element)" }.joined(separator: "\n\n")
    }

    /// The item as the base model sees it: "Situation: …" (Overton and value items) or
    /// "Question: …", then the value or perspective it is steered towards, if any.
    static func itemLines(_ item: Item) -> String {
        var lines = item.mode == .overton || item.steersByValue ? "Situation: \(item.text)\n" : "Question: \(item.text)\n"
        if let attribute = item.attribute {
            lines += item.steersByValue ? "Value: \(attribute)\n" : "Perspective: \(attribute)\n"
        }
        return lines
    }

    /// What a value item asks, in words.
    static func valueQuestion(_ value: String) -> String {
        "Does this situation support or oppose the value \"\(value)\", or could it go either way?"
    }

    /// The question an open steerable item asks (nil for Overton items, which only ask for a
    /// response to the situation).
    static func openQuestion(_ item: Item) -> String? {
        guard item.mode == .steerable, let attribute = item.attribute else { return nil }
        return item.steersByValue ? valueQuestion(attribute) : "Answer as a person with this perspective would."
    }

    /// The item, what it asks, the options lettered in the order given (`order[p]` is the
    /// option shown with the `p`-th letter), and the instruction to answer with one letter: the
    /// reply's first token is where the distribution is read.
    static func choiceBody(item: Item, order: [Int]) -> String {
        precondition(order.count == item.options.count, "an order of \(order.count) for \(item.options.count) options")
        var body = itemLines(item) + "\n"
        if item.steersByValue, let value = item.attribute {
            body += valueQuestion(value) + "\n"
        } else if item.attribute != nil {
            body += "Which answer would a person with this perspective give?\n"
        }
        for (position, option) in order.enumerated() {
            body += "\(optionLetters[position]). \(item.options[option])\n"
        }
        let letters = CandidateLabels.letters.span(order.count)
        let which = item.attribute == nil ? "Which option is the best answer? " : ""
        body += "\n\(which)Reply with one letter (\(letters)) and nothing else."
        return body
    }

    /// The last line of a selection prompt: where the label goes.
    static func selectionInstruction(_ labels: CandidateLabels, count: Int, noun: String) -> String {
        switch labels {
        case .letters: "Reply with one letter (\(labels.span(count))) and nothing else."
        case .numbers: "Reply with the number of the \(noun) (\(labels.span(count))) and nothing else."
        }
    }
}
