import Foundation

/// OpinionQA (Santurkar et al., 2023), as its public release lays out a Pew American Trends
/// Panel wave: a folder `American_Trends_Panel_W{NN}/` holding
///
/// - `info.csv`, one row per question: `key` (the question's column in `responses.csv`),
///   `question` (its text) and `references` (a Python-repr list of its options, in order);
/// - `metadata.csv`, one row per demographic attribute: `key` (the attribute's column in
///   `responses.csv`) and `attribute` (its name, as the items' attribute shows it);
/// - `responses.csv`, one row per respondent: `QKEY`, the survey weight `WEIGHT_W{NN}`, a
///   column per question key holding the chosen option's text, and a column per attribute
///   key holding the respondent's group.
///
/// Other columns are ignored. Each question and demographic group becomes a steerable item
/// (attribute `"<attribute>: <group>"`, the question's options in order, gold = the option
/// with the most survey weight among the group's answers). Refusals are dropped as the
/// paper dropped them: the option `Refused` is left out of the options, refused or empty
/// answers are not counted, and respondents who refused to give a group belong to none. A
/// tie for the most likely answer is skipped and counted. `groupColumns` replaces
/// `metadata.csv` with named columns of `responses.csv` (`COLUMN` or `COLUMN=attribute`).
public struct OpinionQAImporter: DatasetImporter {
    public let name = "opinionqa"
    /// Column → attribute name, used instead of `metadata.csv` when not empty.
    public let groupColumns: [(column: String, attribute: String)]
    static let refusal = "refused"

    public init(groupColumns: [(column: String, attribute: String)] = []) {
        self.groupColumns = groupColumns
    }

    private struct Question {
        var key: String
        var text: String
        var options: [String]
        var line: Int
    }

    public func read(_ paths: [String], into session: ImportSession) throws {
        for folder in paths { try readWave(folder, session) }
    }

    private func readWave(_ path: String, _ session: ImportSession) throws {
        let folder = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
        let folderName = folder.split(separator: "/").last.map(String.init) ?? folder
        let wavePrefix = "American_Trends_Panel_W"
        let waveNumber = String(folderName.dropFirst(wavePrefix.count))
        guard folderName.hasPrefix(wavePrefix), !waveNumber.isEmpty, waveNumber.allSatisfy(\.isASCII), Int(waveNumber) != nil else {
            throw InputErrors(errors: [InputError(file: folder, line: 0, field: "",
                                                  message: "expected a survey wave folder named \(wavePrefix)<NN> (the wave number names the weight column WEIGHT_W<NN>)")])
        }
        let waveName = "W\(waveNumber)"
        let questions = try readQuestions(folder + "/info.csv", session)
        let groups = try groupColumns.isEmpty ? readGroups(folder + "/metadata.csv", session) : groupColumns
        guard !session.hasFailed else { return }

        let responsesPath = folder + "/responses.csv"
        let weightColumn = "WEIGHT_\(waveName)"
        let table = try CSVTable(path: responsesPath, required: ["QKEY", weightColumn] + groups.map(\.column) + questions.map(\.key))
        session.readFile(responsesPath)
        let optionIndices = questions.map { question in
            Dictionary(question.options.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        }
        // Group slot → (column index in `groups`, group name); tallies[question][slot][option].
        var slots: [String: Int] = [:]
        var slotNames: [(group: Int, name: String)] = []
        var tallies: [[[Double]]] = questions.map { _ in [] }
        var rowSlots: [Int] = []
        while let record = try table.next() {
            session.readRow()
            guard let weight = Double(record[weightColumn].trimmingSurroundingWhitespace), weight.isFinite, weight >= 0 else {
                session.fail(record.error(weightColumn, "expected a survey weight (a number ≥ 0), found \"\(record[weightColumn])\""))
                continue
            }
            rowSlots.removeAll(keepingCapacity: true)
            for (groupIndex, group) in groups.enumerated() {
                let name = record[group.column].trimmingSurroundingWhitespace
                if name.isEmpty || name.lowercased() == OpinionQAImporter.refusal { continue }
                let key = "\(groupIndex)\u{1F}\(name)"
                if let slot = slots[key] {
                    rowSlots.append(slot)
                } else {
                    slots[key] = slotNames.count
                    rowSlots.append(slotNames.count)
                    slotNames.append((groupIndex, name))
                }
            }
            for (questionIndex, question) in questions.enumerated() {
                let answer = record[question.key].trimmingSurroundingWhitespace
                if answer.isEmpty { continue }
                if answer.lowercased() == OpinionQAImporter.refusal {
                    session.skip("answers refused (dropped, as the paper did)", at: "\(responsesPath):\(record.line)")
                    continue
                }
                guard let option = optionIndices[questionIndex][answer] else {
                    session.skip("answers that are none of the question's options (not counted)", at: "\(responsesPath):\(record.line) (\(question.key))")
                    continue
                }
                for slot in rowSlots {
                    while tallies[questionIndex].count <= slot { tallies[questionIndex].append([]) }
                    if tallies[questionIndex][slot].isEmpty { tallies[questionIndex][slot] = Array(repeating: 0, count: question.options.count) }
                    tallies[questionIndex][slot][option] += weight
                }
            }
        }

        // Items in info.csv's question order, groups by attribute then first appearance.
        let slotOrder = slotNames.indices.sorted { (slotNames[$0].group, $0) < (slotNames[$1].group, $1) }
        for (questionIndex, question) in questions.enumerated() {
            let place = "\(folder)/info.csv:\(question.line)"
            for slot in slotOrder {
                let (groupIndex, groupName) = slotNames[slot]
                let tally = slot < tallies[questionIndex].count ? tallies[questionIndex][slot] : []
                guard let most = tally.max(), most > 0 else {
                    session.skip("question and group pairs without answers", at: "\(place) (\(groups[groupIndex].column) = \(groupName))")
                    continue
                }
                let leaders = tally.indices.filter { abs(tally[$0] - most) <= most * 1e-12 }
                guard leaders.count == 1 else {
                    session.skip("ties between most likely answers", at: "\(place) (\(groups[groupIndex].column) = \(groupName))")
                    continue
                }
                let attribute = groups[groupIndex].attribute
                let item = Item(id: session.identifier(waveName, question.key, groups[groupIndex].column, groupName), mode: .steerable,
                                pool: "", sourceFile: folder + "/info.csv", line: question.line, text: question.text,
                                attribute: "\(attribute): \(groupName)", options: question.options, gold: leaders[0])
                try session.add(item, at: place)
            }
        }
    }

    private func readQuestions(_ path: String, _ session: ImportSession) throws -> [Question] {
        let table = try CSVTable(path: path, required: ["key", "question", "references"])
        session.readFile(path)
        var questions: [Question] = []
        var keys: [String: Int] = [:]
        while let record = try table.next() {
            session.readRow()
            let key = record["key"].trimmingSurroundingWhitespace
            if key.isEmpty {
                session.fail(record.error("key", "empty question key"))
                continue
            }
            if let first = keys[key] {
                session.fail(record.error("key", "question \"\(key)\" given twice (first on line \(first))"))
                continue
            }
            keys[key] = record.line
            let references: [PythonLiteral]
            do {
                guard case .list(let elements) = try PythonLiteralParser.parse(record["references"]) else {
                    session.fail(record.error("references", "expected a list of options"))
                    continue
                }
                references = elements
            } catch {
                session.fail(record.error("references", "malformed Python literal: \(error)"))
                continue
            }
            var options: [String] = []
            for reference in references {
                guard case .string(let text) = reference else { break }
                options.append(text.trimmingSurroundingWhitespace)
            }
            if options.count < references.count {
                session.fail(record.error("references", "expected a list of strings, found \(references[options.count].kindDescription) in it"))
                continue
            }
            questions.append(Question(key: key, text: record["question"].trimmingSurroundingWhitespace,
                                      options: options.filter { $0.lowercased() != OpinionQAImporter.refusal }, line: record.line))
        }
        return questions
    }

    private func readGroups(_ path: String, _ session: ImportSession) throws -> [(column: String, attribute: String)] {
        let table = try CSVTable(path: path, required: ["key", "attribute"])
        session.readFile(path)
        var groups: [(column: String, attribute: String)] = []
        while let record = try table.next() {
            session.readRow()
            let key = record["key"].trimmingSurroundingWhitespace
            let attribute = record["attribute"].trimmingSurroundingWhitespace
            if key.isEmpty || attribute.isEmpty {
                session.fail(record.error(key.isEmpty ? "key" : "attribute", "must not be empty"))
                continue
            }
            if groups.contains(where: { $0.column == key }) {
                session.fail(record.error("key", "attribute column \"\(key)\" given twice"))
                continue
            }
            groups.append((key, attribute))
        }
        return groups
    }
}
