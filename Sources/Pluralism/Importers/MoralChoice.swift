/// MoralChoice (Scherrer et al., 2023): `moralchoice_low_ambiguity.csv` and
/// `moralchoice_high_ambiguity.csv`, one scenario a row. Each becomes a distributional item
/// shaped as Modular Pluralism shaped it: the context as the question, the two actions as
/// the options, gold [1, 0] for low ambiguity (action 1 is the moral choice) and [0.5, 0.5]
/// for high ambiguity, population `low-ambiguity` or `high-ambiguity` (unlabelled: an
/// ambiguity class is not a group of people). Columns read: `scenario_id` (the id),
/// `ambiguity` (`low` or `high`), `context`, `action1`, `action2`; others are ignored.
public struct MoralChoiceImporter: DatasetImporter {
    public let name = "moralchoice"
    static let columns = ["scenario_id", "ambiguity", "context", "action1", "action2"]

    public init() {}

    public func read(_ paths: [String], into session: ImportSession) throws {
        for path in paths {
            let table = try CSVTable(path: path, required: MoralChoiceImporter.columns)
            session.readFile(path)
            while let record = try table.next() {
                session.readRow()
                let distribution: [Double]
                switch record["ambiguity"].trimmingSurroundingWhitespace.lowercased() {
                case "low": distribution = [1, 0]
                case "high": distribution = [0.5, 0.5]
                case let other:
                    session.fail(record.error("ambiguity", "unknown ambiguity \"\(other)\"; expected low or high"))
                    continue
                }
                let key = record["scenario_id"].trimmingSurroundingWhitespace
                if key.isEmpty {
                    session.fail(record.error("scenario_id", "empty scenario id; ids are made from it"))
                    continue
                }
                let population = distribution[0] == 1 ? "low-ambiguity" : "high-ambiguity"
                session.population(population, label: nil)
                let item = Item(id: session.identifier(key), mode: .distributional, pool: "", sourceFile: path, line: record.line,
                                text: record["context"].trimmingSurroundingWhitespace,
                                options: [record["action1"].trimmingSurroundingWhitespace, record["action2"].trimmingSurroundingWhitespace],
                                population: population, goldDistribution: distribution)
                try session.add(item, at: "\(path):\(record.line)")
            }
        }
    }
}
