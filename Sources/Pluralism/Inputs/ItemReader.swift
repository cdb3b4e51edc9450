/// Reads question files (JSONL: one JSON object per line; blank lines allowed, nothing else)
/// into items, reporting every problem with its file, line and field.
struct ItemReader {
    static let fields: [ItemMode: [String]] = [
        .overton: ["id", "mode", "situation", "values"],
        .steerable: ["id", "mode", "situation", "question", "attribute", "options", "gold"],
        .distributional: ["id", "mode", "question", "options", "population", "gold_distribution"],
    ]
    static let valueFields = ["value", "explanation"]
    static let maximumOptions = 26
    /// How far a gold distribution's sum may stray from 1 (rounding in hand-written files).
    static let sumTolerance = 1e-6

    let config: RunConfig
    let problems: Problems
    private(set) var items: [Item] = []
    /// Where each id was first seen ("file:line"), to name both places of a duplicate.
    private var idPlaces: [String: String] = [:]

    init(config: RunConfig, problems: Problems) {
        self.config = config
        self.problems = problems
    }

    mutating func read(_ file: InputFile, pool: String) {
        var lineNumber = 0
        var start = 0
        let bytes = file.bytes
        while start < bytes.count {
            lineNumber += 1
            let end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
            var line = Array(bytes[start..<end])
            if line.last == 0x0D { line.removeLast() }
            start = end + 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            readLine(line, number: lineNumber, file: file, pool: pool)
        }
    }

    private mutating func readLine(_ bytes: [UInt8], number: Int, file: InputFile, pool: String) {
        let reader = NodeReader(file: file.displayPath, problems: problems)
        let node: JSONNode
        do {
            node = try JSONParser.parse(bytes: bytes, line: number)
        } catch {
            problems.report(InputError(file: file.displayPath, line: number, field: "",
                                       message: "malformed JSON: \(error.message)", column: error.position.column))
            return
        }
        guard case .object(let members) = node.value else {
            problems.report(file.displayPath, number, "", "expected one JSON object per line, found \(node.kindDescription)")
            return
        }
        guard let modeMember = members.first(where: { $0.key == "mode" }) else {
            problems.report(file.displayPath, number, "mode", "missing field; expected one of: \(ItemMode.allCases.map(\.rawValue).joined(separator: ", "))")
            return
        }
        guard let modeName = reader.text(modeMember.value, "mode") else { return }
        guard let mode = ItemMode(rawValue: modeName) else {
            problems.report(file.displayPath, number, "mode", "unknown mode \"\(modeName)\"; expected one of: \(ItemMode.allCases.map(\.rawValue).joined(separator: ", "))")
            return
        }
        guard let fields = reader.object(node, "", allowed: ItemReader.fields[mode]!) else { return }
        let errorsBefore = problems.errors.count

        let id = fields.requiredText("id")
        if let id {
            if !Identifier.isValid(id) {
                problems.report(file.displayPath, number, "id", "invalid id \"\(id)\"; use \(Identifier.rule)")
            } else if let first = idPlaces[id] {
                problems.report(file.displayPath, number, "id", "duplicate id \"\(id)\"; first used at \(first)")
            } else {
                idPlaces[id] = "\(file.displayPath):\(number)"
            }
        }

        var item = Item(id: id ?? "", mode: mode, pool: pool, sourceFile: file.key, line: number, text: "")
        switch mode {
        case .overton:
            item.text = fields.requiredText("situation") ?? ""
            if let node = fields.node("values") { item.values = readValues(node, reader) }
        case .steerable:
            item.text = readSteerableText(fields) ?? ""
            item.attribute = fields.requiredText("attribute")
            if let node = fields.node("options") { item.options = readOptions(node, "options", reader) ?? [] }
            if let node = fields.node("gold") {
                if fields.has("options") {
                    if !item.options.isEmpty { item.gold = readGold(node, optionCount: item.options.count, reader) }
                } else {
                    problems.report(file.displayPath, node.position.line, "gold", "a gold answer needs options to point at")
                }
            }
        case .distributional:
            item.text = fields.requiredText("question") ?? ""
            if let node = fields.required("options", "a distributional item needs 2 to 26 options") {
                item.options = readOptions(node, "options", reader) ?? []
            }
            if let node = fields.node("population"), let name = reader.text(node, "population") {
                item.population = name
                checkPopulation(name, pool: pool, line: node.position.line, reader)
            }
            if let node = fields.node("gold_distribution"), !item.options.isEmpty {
                item.goldDistribution = readDistribution(node, optionCount: item.options.count, reader)
            }
        }
        if problems.errors.count == errorsBefore { items.append(item) }
    }

    private func readSteerableText(_ fields: ObjectFields) -> String? {
        switch (fields.node("situation"), fields.node("question")) {
        case (nil, nil):
            _ = fields.required("situation", "a steerable item needs a situation or a question")
            return nil
        case (.some, .some(let question)):
            fields.reader.problems.report(fields.reader.file, question.position.line, "question",
                                          "give a situation or a question, not both")
            return nil
        case (.some, nil): return fields.optionalText("situation")
        case (nil, .some): return fields.optionalText("question")
        }
    }

    private func readValues(_ node: JSONNode, _ reader: NodeReader) -> [ReferenceValue] {
        guard let elements = reader.array(node, "values") else { return [] }
        var values: [ReferenceValue] = []
        for (index, element) in elements.enumerated() {
            guard let fields = reader.object(element, "values[\(index)]", allowed: ItemReader.valueFields) else { continue }
            let value = fields.requiredText("value")
            let explanation = fields.requiredText("explanation")
            if let value, let explanation { values.append(ReferenceValue(value: value, explanation: explanation)) }
        }
        return values
    }

    private func readOptions(_ node: JSONNode, _ field: String, _ reader: NodeReader) -> [String]? {
        guard let elements = reader.array(node, field) else { return nil }
        guard (2...ItemReader.maximumOptions).contains(elements.count) else {
            let given = elements.count == 1 ? "1 option given" : "\(elements.count) options given"
            reader.problems.report(reader.file, node.position.line, field, "\(given); a multiple-choice item needs 2 to \(ItemReader.maximumOptions)")
            return nil
        }
        var options: [String] = []
        for (index, element) in elements.enumerated() {
            guard let option = reader.text(element, "\(field)[\(index)]") else { return nil }
            if let first = options.firstIndex(of: option) {
                reader.problems.report(reader.file, element.position.line, "\(field)[\(index)]",
                                       "duplicate option \"\(option)\" (same as option \(letter(first)))")
                return nil
            }
            options.append(option)
        }
        return options
    }

    /// A gold answer written as an option letter ("B") or a 0-based index (1): both name the
    /// second option.
    private func readGold(_ node: JSONNode, optionCount: Int, _ reader: NodeReader) -> Int? {
        let range = "the item has \(optionCount) options (\(letter(0)) to \(letter(optionCount - 1)), or indices 0 to \(optionCount - 1))"
        switch node.value {
        case .string(let text):
            let scalars = Array(text.unicodeScalars)
            guard scalars.count == 1, ("A"..."Z").contains(scalars[0]) else {
                reader.problems.report(reader.file, node.position.line, "gold", "\"\(text)\" is not an option letter; expected a capital letter or a 0-based index")
                return nil
            }
            let index = Int(scalars[0].value - Unicode.Scalar("A").value)
            guard index < optionCount else {
                reader.problems.report(reader.file, node.position.line, "gold", "gold \"\(text)\" is out of range; \(range)")
                return nil
            }
            return index
        case .number(let literal):
            guard let index = Int(literal) else {
                reader.problems.report(reader.file, node.position.line, "gold", "expected an option letter or a 0-based index, found \(literal)")
                return nil
            }
            guard (0..<optionCount).contains(index) else {
                reader.problems.report(reader.file, node.position.line, "gold", "gold index \(index) is out of range; \(range)")
                return nil
            }
            return index
        default:
            reader.typeMismatch(node, "gold", expected: "an option letter or a 0-based index")
            return nil
        }
    }

    private func readDistribution(_ node: JSONNode, optionCount: Int, _ reader: NodeReader) -> [Double]? {
        guard let elements = reader.array(node, "gold_distribution") else { return nil }
        guard elements.count == optionCount else {
            reader.problems.report(reader.file, node.position.line, "gold_distribution",
                                   "\(elements.count == 1 ? "1 probability" : "\(elements.count) probabilities") given for \(optionCount) options; give one per option")
            return nil
        }
        var probabilities: [Double] = []
        for (index, element) in elements.enumerated() {
            let field = "gold_distribution[\(index)]"
            guard let value = reader.number(element, field) else { return nil }
            if value < 0 {
                reader.problems.report(reader.file, element.position.line, field, "negative probability \(JSON.format(value))")
                return nil
            }
            probabilities.append(value)
        }
        let sum = probabilities.reduce(0, +)
        guard abs(sum - 1) <= ItemReader.sumTolerance else {
            reader.problems.report(reader.file, node.position.line, "gold_distribution",
                                   "probabilities sum to \(JSON.format(sum)); they must sum to 1 (±1e-6)")
            return nil
        }
        return probabilities
    }

    /// An item's population must be declared in the config (with weights, or `{}` for the
    /// uniform mix), so a misspelt name cannot silently fall back to uniform weights.
    private func checkPopulation(_ name: String, pool: String, line: Int, _ reader: NodeReader) {
        guard let population = config.population(named: name) else {
            let known = config.populations.map(\.name).joined(separator: ", ")
            reader.problems.report(reader.file, line, "population", "unknown population \"\(name)\"; "
                + (known.isEmpty ? "the config defines no populations" : "the config defines: \(known)"))
            return
        }
        let members = config.communities(inPool: pool)
        if !members.isEmpty, members.allSatisfy({ population.weight(of: $0.name) == 0 }) {
            reader.problems.report(reader.file, line, "population",
                                   "population \"\(name)\" gives every community of pool \"\(pool)\" weight 0; nothing would be left to mix")
        }
    }

    private func letter(_ index: Int) -> String {
        String(Character(Unicode.Scalar(UInt8(ascii: "A") + UInt8(index))))
    }
}
