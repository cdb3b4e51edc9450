import ArgumentParser
import Foundation
import Pluralism

struct BenchImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import a large synthetic GlobalOpinionQA-shaped CSV and time it: rows/s, MB/s, peak memory.",
        discussion: """
        Writes a seeded synthetic CSV shaped like GlobalOpinionQA (question, selections as a \
        Python-repr defaultdict of 30 countries → fractions, options as a Python-repr list of \
        4 or 5, source) of the given size into a temporary folder, then imports it as \
        `pluralism import globalopinionqa` does (parsing, validation, ids, writing the JSONL) \
        and prints rows/s, MB/s, items/s and the process's peak resident memory during the \
        import, which stays flat however large the file is: the file is streamed. Writing the \
        CSV is timed apart. Figures only: nothing is asserted.

        Examples:
          pluralism bench import
          pluralism bench import --megabytes 20
          pluralism bench import --keep /tmp/bench-import
              keep the CSV and the imported JSONL in /tmp/bench-import

        \(ExitStatus.helpText)
        """)

    @Option(name: .long, help: ArgumentHelp("Size of the synthetic CSV in MB.", valueName: "n"))
    var megabytes = 100

    @Option(name: .long, help: ArgumentHelp("Keep the CSV and the JSONL in this folder (default: a temporary folder, deleted).", valueName: "dir"))
    var keep: String?

    func validate() throws {
        if megabytes < 1 || megabytes > 10_000 { throw ValidationError("--megabytes must be between 1 and 10000") }
    }

    func run() async throws {
        let folder = keep ?? FileManager.default.temporaryDirectory.appendingPathComponent("pluralism-bench-import-\(UUID().uuidString)").path
        defer { if keep == nil { try? FileManager.default.removeItem(atPath: folder) } }
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let csv = folder + "/global_opinions.csv"
            var started = Date()
            let rows = try SyntheticGlobalOpinions(bytes: megabytes * 1_000_000).write(to: csv)
            let size = Double((try FileManager.default.attributesOfItem(atPath: csv)[.size] as? Int) ?? 0) / 1_000_000
            print(String(format: "synthetic GlobalOpinionQA CSV: %.1f MB, %d rows × 30 countries, written in %@", size, rows,
                         formatDuration(Date().timeIntervalSince(started))))

            PeakMemory.reset()
            started = Date()
            let out = folder + "/goqa.jsonl"
            let summary = try DatasetImport.run(GlobalOpinionQAImporter(), paths: [csv], options: ImportOptions(), out: out)
            let seconds = Date().timeIntervalSince(started)
            let outSize = Double((try FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0) / 1_000_000
            print(String(format: "import: %d rows → %d items (%.0f MB of JSONL) in %.2f s: %.0f rows/s, %.1f MB/s, %.0f items/s; peak resident memory %.0f MB",
                         summary.rowsRead, summary.importedCount, outSize, seconds, Double(summary.rowsRead) / seconds,
                         size / seconds, Double(summary.importedCount) / seconds, PeakMemory.megabytes()))
        } catch {
            throw ExitStatus.fail(error)
        }
    }
}

/// A GlobalOpinionQA-shaped CSV of seeded random text: 4 or 5 options, 30 countries a row,
/// fractions in whole percentages that sum to 100, as the real file's do.
struct SyntheticGlobalOpinions {
    let bytes: Int
    static let countries = [
        "Argentina", "Australia", "Brazil", "Canada", "Chile", "China", "Egypt", "France", "Germany", "Ghana", "India",
        "Indonesia", "Italy", "Japan", "Jordan", "Kenya", "Lebanon", "Mexico", "Netherlands", "Nigeria", "Pakistan", "Peru",
        "Philippines", "Poland", "Russia", "South Africa", "South Korea", "Spain", "Sweden", "Tunisia", "Turkey", "Ukraine",
        "United Kingdom", "United States", "Venezuela", "Vietnam",
    ]
    private static let words = """
        how much do you agree that people government should children family religion work important society trust \
        country future economy women men young old education science country neighbours law freedom safety tradition \
        change duty respect money health community leaders media news world war peace climate
        """.split(separator: " ").map(String.init)

    /// Writes the file and returns its number of data rows.
    func write(to path: String) throws -> Int {
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw ImportOutputError(path: path, reason: "cannot create the file")
        }
        defer { try? handle.close() }
        var random = SplitMix(state: 2024)
        var buffer = "question,selections,options,source\n"
        var written = 0
        var rows = 0
        while written + buffer.utf8.count < bytes {
            rows += 1
            let question = (0..<(12 + random.below(10))).map { _ in Self.words[random.below(Self.words.count)] }.joined(separator: " ")
            let optionCount = 4 + random.below(2)
            let options = (0..<optionCount).map { index in "Option \(index + 1) " + Self.words[random.below(Self.words.count)] }
            var countries = Self.countries
            for index in countries.indices.reversed() where index > 0 { countries.swapAt(index, random.below(index + 1)) }
            let selections = countries.prefix(30).map { country in
                var left = 100
                var shares: [Int] = []
                for option in 0..<optionCount {
                    let share = option == optionCount - 1 ? left : random.below(left + 1)
                    shares.append(share)
                    left -= share
                }
                return "'\(country)': [" + shares.map { String(Double($0) / 100) }.joined(separator: ", ") + "]"
            }
            buffer += "\(question)?,"
            buffer += Self.quoted("defaultdict(<class 'list'>, {" + selections.joined(separator: ", ") + "})") + ","
            buffer += Self.quoted("[" + options.map { "'\($0)'" }.joined(separator: ", ") + "]") + ",Synthetic\n"
            if buffer.utf8.count > 1 << 20 {
                handle.write(Data(buffer.utf8))
                written += buffer.utf8.count
                buffer = ""
            }
        }
        handle.write(Data(buffer.utf8))
        return rows
    }

    private static func quoted(_ field: String) -> String {
        "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    private struct SplitMix {
        var state: UInt64
        mutating func below(_ bound: Int) -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(bound))
        }
    }
}
