import ArgumentParser
import Pluralism

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Turn a dataset's files, as distributed, into a question file (JSONL) and the config entries it needs.",
        discussion: """
        One subcommand per dataset: ValuePrism, OpinionQA, GlobalOpinionQA and MoralChoice, \
        shaped into items as Modular Pluralism shaped its tasks. Files are read as a stream \
        (a 200 MB CSV is never held whole), ids come from the source's own keys (two imports \
        of the same file give the same ids, so their runs compare with `pluralism diff`), and \
        the summary on stderr counts rows read, items imported and everything skipped, \
        grouped by reason. The `questions` and `populations` entries a run configuration \
        needs go to stdout, or to --config-snippet FILE.

        A malformed file fails the import with every problem as file:line: column: message, \
        and --out is left as it was: items are written to a temporary file that is renamed \
        only when the whole import succeeded.

        Examples:
          pluralism import moralchoice data/moralchoice_*.csv --out inputs/questions/moralchoice.jsonl
          pluralism import globalopinionqa global_opinions.csv --out goqa.jsonl --limit 500 --seed 7
          pluralism import opinionqa human_resp/American_Trends_Panel_W26 --out w26.jsonl --config-snippet w26.json
          pluralism import valueprism valueprism.csv --task steerable --out vp.jsonl

        Then merge the printed entries into a run configuration and run it:
          pluralism run --config my/run.json

        Exit status: 0 done; 64 usage error; 65 invalid input (each problem printed as \
        file:line: column: message); 73 the output cannot be written.
        """,
        subcommands: [ValuePrism.self, OpinionQA.self, GlobalOpinionQA.self, MoralChoice.self])

    /// What every dataset's import takes besides its files.
    struct Output: ParsableArguments {
        @Option(name: .long, help: ArgumentHelp("The question file to write (JSONL; replaced only on success).", valueName: "file"))
        var out: String

        @Option(name: .long, help: ArgumentHelp("Keep at most this many items, a sample chosen by --seed.", valueName: "n"))
        var limit: Int?

        @Option(name: .long, help: ArgumentHelp("Chooses the sample under --limit: the same seed keeps the same items.", valueName: "n"))
        var seed: UInt64 = 0

        @Option(name: .long, help: ArgumentHelp("Starts every item id (default: the dataset's name).", valueName: "prefix"))
        var idPrefix: String?

        @Option(name: .long, help: ArgumentHelp("The pool that answers the file, in the config entry (default: perspective for Overton and steerable items, culture for distributional ones, as in inputs/run.json).", valueName: "name"))
        var pool: String?

        @Option(name: .long, help: ArgumentHelp("Write the config entries here instead of stdout; the question file is named relative to this file's folder.", valueName: "file"))
        var configSnippet: String?

        func validate() throws {
            if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
            if let idPrefix, !ImportOptions.isValidPrefix(idPrefix) {
                throw ValidationError("--id-prefix must be letters, digits, '.', '_' and '-', starting with a letter or digit, at most 64 characters")
            }
            if out.isEmpty { throw ValidationError("--out must name a file") }
        }

        func run(_ importer: some DatasetImporter, paths: [String], defaultPool: String) throws {
            do {
                let options = ImportOptions(limit: limit, seed: seed, idPrefix: idPrefix)
                let summary = try DatasetImport.run(importer, paths: paths, options: options, out: out)
                summary.lines(output: out, options: options).forEach(note)
                let pool = self.pool ?? defaultPool
                if let configSnippet {
                    let snippet = DatasetImport.configSnippet(file: DatasetImport.path(of: out, relativeToFolderOf: configSnippet), pool: pool, summary: summary)
                    try DatasetImport.writeAtomically(snippet, to: configSnippet)
                    note("wrote the config entries to \(configSnippet)")
                } else {
                    print(DatasetImport.configSnippet(file: out, pool: pool, summary: summary), terminator: "")
                }
            } catch {
                throw ExitStatus.fail(error)
            }
        }

    }

    struct ValuePrism: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "valueprism",
            abstract: "ValuePrism CSV (situation, vrd, text, valence, explanation) → Overton or value-steered items.",
            discussion: """
            --task overton (the default): one item per situation, with all its values, rights \
            and duties and their explanations as the reference values the coverage audit \
            checks. A situation's rows must be consecutive, as in the released file.
            --task steerable: one item per row: the situation steered towards that value, \
            options supports / opposes / either, gold from the valence column.
            Ids: valueprism-<12 hex digits of the situation's sha256>, and for steerable items \
            -<vrd>-<8 hex digits of the value's>.

            Examples:
              pluralism import valueprism valueprism.csv --out inputs/questions/vp-overton.jsonl --limit 200
              pluralism import valueprism valueprism.csv --task steerable --out vp-steer.jsonl --config-snippet vp.json
            """)

        @Argument(help: ArgumentHelp("ValuePrism CSV files.", valueName: "file"))
        var paths: [String]

        @Option(name: .long, help: ArgumentHelp("overton or steerable.", valueName: "task"))
        var task: String = "overton"

        @OptionGroup var output: Output

        func validate() throws {
            if ValuePrismImporter.Task(rawValue: task) == nil { throw ValidationError("--task must be overton or steerable") }
        }

        func run() async throws {
            try output.run(ValuePrismImporter(task: ValuePrismImporter.Task(rawValue: task)!), paths: paths, defaultPool: "perspective")
        }
    }

    struct OpinionQA: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "opinionqa",
            abstract: "OpinionQA survey waves (American_Trends_Panel_W<NN>/ folders) → demographically steered items.",
            discussion: """
            Reads, in each wave folder: info.csv (key, question, references: a Python-repr \
            list of options), metadata.csv (key: a demographic column of responses.csv, \
            attribute: its name) and responses.csv (QKEY, WEIGHT_W<NN>, a column per question \
            key with the chosen option's text, a column per demographic key with the \
            respondent's group). One steerable item per question and group: attribute \
            "<attribute>: <group>", the options in order without "Refused", gold the option \
            with the most survey weight in the group. Refused answers are dropped, ties are \
            skipped and counted. Ids: opinionqa-W<NN>-<question key>-<column>-<group>.

            Examples:
              pluralism import opinionqa human_resp/American_Trends_Panel_W26 --out w26.jsonl
              pluralism import opinionqa human_resp/American_Trends_Panel_W26 --group-by POLIDEOLOGY="political ideology" --out w26.jsonl
            """)

        @Argument(help: ArgumentHelp("Survey wave folders.", valueName: "folder"))
        var paths: [String]

        @Option(name: .long, parsing: .singleValue,
                help: ArgumentHelp("Group by this column of responses.csv instead of metadata.csv's list (repeatable; COLUMN or COLUMN=attribute name).", valueName: "column"))
        var groupBy: [String] = []

        @OptionGroup var output: Output

        func run() async throws {
            let groups = groupBy.map { spec -> (column: String, attribute: String) in
                guard let equals = spec.firstIndex(of: "=") else { return (spec, spec) }
                return (String(spec[..<equals]), String(spec[spec.index(after: equals)...]))
            }
            try output.run(OpinionQAImporter(groupColumns: groups), paths: paths, defaultPool: "perspective")
        }
    }

    struct GlobalOpinionQA: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "globalopinionqa",
            abstract: "GlobalOpinionQA CSV (question, selections, options, source) → one distributional item per question and country.",
            discussion: """
            selections is a Python-repr dict (or defaultdict) of country → fractions, options \
            a Python-repr list; both are read by a strict literal parser that evaluates \
            nothing. Each country's fractions must have one entry per option and sum to 1 \
            within half a percentage point per option (they are then renormalised); a country \
            becomes a population (lower-case name, labelled as written). Ids: \
            goqa-<12 hex digits of the sha256 of source and question>-<country>.

            Examples:
              pluralism import globalopinionqa global_opinions.csv --out goqa.jsonl
              pluralism import globalopinionqa global_opinions.csv --out goqa-500.jsonl --limit 500 --seed 1
            """)

        @Argument(help: ArgumentHelp("GlobalOpinionQA CSV files.", valueName: "file"))
        var paths: [String]

        @OptionGroup var output: Output

        func run() async throws {
            try output.run(GlobalOpinionQAImporter(), paths: paths, defaultPool: "culture")
        }
    }

    struct MoralChoice: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "moralchoice",
            abstract: "MoralChoice scenario CSVs → two-option distributional items.",
            discussion: """
            Reads moralchoice_low_ambiguity.csv and moralchoice_high_ambiguity.csv (columns \
            scenario_id, ambiguity, context, action1, action2). The context is the question, \
            the two actions the options; gold [1, 0] for low ambiguity (action 1 is the moral \
            choice) and [0.5, 0.5] for high ambiguity; population low-ambiguity or \
            high-ambiguity. Ids: moralchoice-<scenario_id>.

            Example:
              pluralism import moralchoice moralchoice_low_ambiguity.csv moralchoice_high_ambiguity.csv \\
                --out inputs/questions/moralchoice.jsonl --config-snippet inputs/moralchoice-entries.json
            """)

        @Argument(help: ArgumentHelp("MoralChoice scenario CSV files.", valueName: "file"))
        var paths: [String]

        @OptionGroup var output: Output

        func run() async throws {
            try output.run(MoralChoiceImporter(), paths: paths, defaultPool: "culture")
        }
    }
}
