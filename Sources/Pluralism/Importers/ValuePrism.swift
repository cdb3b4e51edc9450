/// ValuePrism (Sorensen et al., 2024): a CSV with `situation`, `vrd` (Value, Right or Duty),
/// `text` (the value, right or duty), `valence` (Supports, Opposes or Either: how the
/// situation relates to it) and `explanation`, one row per situation and value.
///
/// - `overton`: one item per situation, its values as the reference `values` (the text with
///   its explanation) for the coverage audit. A situation's rows must be consecutive, as the
///   released file has them, so the file streams; a situation that comes back after others
///   fails the import.
/// - `steerable`: one item per row: the situation steered towards the value, options
///   supports / opposes / either, gold from `valence`.
public struct ValuePrismImporter: DatasetImporter {
    public enum Task: String, CaseIterable, Sendable {
        case overton, steerable
    }

    public let name = "valueprism"
    public let task: Task
    static let columns = ["situation", "vrd", "text", "valence", "explanation"]
    static let valences = ["supports", "opposes", "either"]
    static let kinds = ["value", "right", "duty"]

    public init(task: Task) {
        self.task = task
    }

    /// The rows of one situation, collected until the next situation starts.
    private struct Situation {
        var text: String
        var path: String
        var line: Int
        var place: String { "\(path):\(line)" }
        var values: [ReferenceValue] = []
        var seen: Set<String> = []
    }

    public func read(_ paths: [String], into session: ImportSession) throws {
        for path in paths {
            let table = try CSVTable(path: path, required: ValuePrismImporter.columns)
            session.readFile(path)
            var current: Situation?
            var finished: [UInt64: String] = [:]
            while let record = try table.next() {
                session.readRow()
                let place = "\(path):\(record.line)"
                let situation = record["situation"].trimmingSurroundingWhitespace
                let text = record["text"].trimmingSurroundingWhitespace
                let explanation = record["explanation"].trimmingSurroundingWhitespace
                let kind = record["vrd"].trimmingSurroundingWhitespace
                let valence = record["valence"].trimmingSurroundingWhitespace
                if task == .overton, current?.text != situation {
                    if let done = current {
                        finished[ImportText.hash64(done.text)] = done.place
                        try emit(done, session)
                    }
                    if let first = finished[ImportText.hash64(situation)] {
                        session.fail(record.error("situation", "this situation's rows are not consecutive (it started at \(first)); sort the file by situation"))
                    }
                    current = Situation(text: situation, path: path, line: record.line)
                }
                guard ValuePrismImporter.kinds.contains(kind.lowercased()) else {
                    session.fail(record.error("vrd", "unknown kind \"\(kind)\"; expected Value, Right or Duty"))
                    continue
                }
                guard let gold = ValuePrismImporter.valences.firstIndex(of: valence.lowercased()) else {
                    session.fail(record.error("valence", "unknown valence label \"\(valence)\"; expected Supports, Opposes or Either"))
                    continue
                }
                switch task {
                case .steerable:
                    let id = session.identifier(ImportText.digest(situation), kind.lowercased(), ImportText.digest(kind + "\n" + text, length: 8))
                    let item = Item(id: id, mode: .steerable, pool: "", sourceFile: path, line: record.line, text: situation,
                                    attribute: text, options: ValuePrismImporter.valences, gold: gold)
                    try session.add(item, at: place)
                case .overton:
                    if text.isEmpty || explanation.isEmpty {
                        session.skip("value rows with an empty text or explanation (left out of their situation's values)", at: place)
                    } else if !current!.seen.insert(text).inserted {
                        session.skip("value rows repeating a value of their situation (the first kept)", at: place)
                    } else {
                        current!.values.append(ReferenceValue(value: text, explanation: explanation))
                    }
                }
            }
            if let done = current { try emit(done, session) }
        }
    }

    private func emit(_ situation: Situation, _ session: ImportSession) throws {
        let item = Item(id: session.identifier(ImportText.digest(situation.text)), mode: .overton, pool: "", sourceFile: situation.path,
                        line: situation.line, text: situation.text, values: situation.values)
        try session.add(item, at: situation.place)
    }
}
