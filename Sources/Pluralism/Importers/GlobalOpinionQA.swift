/// GlobalOpinionQA (Durmus et al., 2023): a CSV with `question`, `selections` (a Python-repr
/// dict of country → option fractions, as written by `repr` of a `defaultdict`), `options`
/// (a Python-repr list) and `source`. Each question and country becomes a distributional
/// item: the country is the population (named in lower case, labelled as written) and its
/// fractions the gold distribution.
///
/// Fractions published as rounded percentages do not sum exactly to 1; a sum within half a
/// percentage point per option of 1 is renormalised (fractions that already sum to 1 within
/// the question files' ±1e-6 are kept as written), anything further off fails the import.
public struct GlobalOpinionQAImporter: DatasetImporter {
    public let name = "goqa"
    static let columns = ["question", "selections", "options", "source"]
    /// The largest rounding error whole percentages can leave, per option.
    public static let sumTolerancePerOption = 0.005

    /// Country → population name, computed once per country rather than once per item.
    private let populationNames = PopulationNames()

    public init() {}

    public func read(_ paths: [String], into session: ImportSession) throws {
        for path in paths {
            let table = try CSVTable(path: path, required: GlobalOpinionQAImporter.columns)
            session.readFile(path)
            while let record = try table.next() {
                session.readRow()
                try readRow(record, session)
            }
        }
    }

    private func readRow(_ record: CSVRecord, _ session: ImportSession) throws {
        let place = "\(record.path):\(record.line)"
        guard let options = stringList(record, "options", session) else { return }
        let selections: [PythonLiteral.DictEntry]
        do {
            guard case .dict(let entries) = try PythonLiteralParser.parse(record["selections"]) else {
                session.fail(record.error("selections", "expected a dict of country → fractions"))
                return
            }
            selections = entries
        } catch {
            session.fail(record.error("selections", "malformed Python literal: \(error)"))
            return
        }
        let question = record["question"].trimmingSurroundingWhitespace
        if selections.isEmpty {
            session.skip("rows without any country", at: place)
            return
        }
        let key = ImportText.digest(record["source"].trimmingSurroundingWhitespace + "\n" + question)
        for entry in selections {
            guard case .string(let rawCountry) = entry.key else {
                session.fail(record.error("selections", "a country must be a string, found \(entry.key.kindDescription)"))
                continue
            }
            let country = rawCountry.trimmingSurroundingWhitespace
            let field = "selections[\(JSON.quoted(rawCountry))]"
            guard case .list(let elements) = entry.value else {
                session.fail(record.error(field, "expected a list of fractions, found \(entry.value.kindDescription)"))
                continue
            }
            var fractions: [Double] = []
            for element in elements {
                guard let number = element.number else {
                    session.fail(record.error(field, "expected a list of numbers, found \(element.kindDescription) in it"))
                    break
                }
                guard number >= 0 else {
                    session.fail(record.error(field, "negative fraction \(JSON.format(number))"))
                    break
                }
                fractions.append(number)
            }
            guard fractions.count == elements.count else { continue }
            guard fractions.count == options.count else {
                session.fail(record.error(field, "\(fractions.count) fractions for \(options.count) options; give one per option"))
                continue
            }
            let sum = fractions.reduce(0, +)
            if sum == 0 {
                session.skip("countries whose fractions are all 0", at: place)
                continue
            }
            let tolerance = GlobalOpinionQAImporter.sumTolerancePerOption * Double(options.count)
            guard abs(sum - 1) <= tolerance + 1e-12 else {
                session.fail(record.error(field, "fractions sum to \(rounded(sum)); they must sum to 1 (± \(rounded(tolerance)), half a percentage point per option)"))
                continue
            }
            let population = populationNames.name(for: country)
            session.population(population, label: country)
            let item = Item(id: session.identifier(key, country), mode: .distributional, pool: "", sourceFile: record.path,
                            line: record.line, text: question, options: options, population: population,
                            goldDistribution: abs(sum - 1) <= ItemReader.sumTolerance ? fractions : fractions.map { $0 / sum })
            try session.add(item, at: place)
        }
    }

    /// A sum as a person reads it (0.95, not 0.9499999999999998).
    private func rounded(_ value: Double) -> String {
        JSON.format((value * 1e9).rounded() / 1e9)
    }

    private func stringList(_ record: CSVRecord, _ column: String, _ session: ImportSession) -> [String]? {
        do {
            guard case .list(let elements) = try PythonLiteralParser.parse(record[column]) else {
                session.fail(record.error(column, "expected a list of strings"))
                return nil
            }
            var strings: [String] = []
            for element in elements {
                guard case .string(let text) = element else {
                    session.fail(record.error(column, "expected a list of strings, found \(element.kindDescription) in it"))
                    return nil
                }
                strings.append(text.trimmingSurroundingWhitespace)
            }
            return strings
        } catch {
            session.fail(record.error(column, "malformed Python literal: \(error)"))
            return nil
        }
    }
}

/// Remembers the population name made from each label.
final class PopulationNames {
    private var names: [String: String] = [:]

    func name(for label: String) -> String {
        if let name = names[label] { return name }
        let name = ImportText.populationName(label)
        names[label] = name
        return name
    }
}
