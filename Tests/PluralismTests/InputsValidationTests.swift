import Testing
@testable import Pluralism

/// Each validation error: its text, file, line and field. Configs come from
/// `InputsScratchFolder.config`: community `a` is on line 3, `b` on 4, `extra` starts on 5.
struct InputsValidationTests {
    typealias Folder = InputsScratchFolder

    /// Loads `files` (the config is `run.json`) and returns the errors with file paths
    /// made relative to the scratch folder.
    private func errors(_ files: [String: String], config: String = "run.json") throws -> [InputError] {
        let folder = try Folder(files)
        defer { folder.remove() }
        return folder.errors(config).map { error in
            var error = error
            if error.file.hasPrefix(folder.path + "/") { error.file.removeFirst(folder.path.count + 1) }
            return error
        }
    }

    private func error(_ file: String, _ line: Int, _ field: String, _ message: String) -> InputError {
        InputError(file: file, line: line, field: field, message: message)
    }

    @Test func validConfigLoadsWithDefaults() throws {
        let folder = try Folder(["run.json": Folder.config(), "q.jsonl": Folder.overton + "\n"])
        defer { folder.remove() }
        let inputs = try folder.load()
        let config = inputs.config
        #expect(config.name == "run")
        #expect(config.seed == 0)
        #expect(config.methods == Method.allCases)
        #expect(config.commentDecoding == Decoding(temperature: 1.0, topP: 0.9, maxTokens: 200, seed: 0))
        #expect(config.baseDecoding == Decoding(temperature: 0.1, topP: 1.0, maxTokens: 200, seed: 0))
        #expect(config.distributionTopLogprobs == 20)
        #expect(config.baseModel == .embedded)
        #expect(config.communities.map(\.name) == ["a", "b"])
        #expect(config.communities.allSatisfy { $0.pool == "p" && $0.model == .embedded && $0.profile.isEmpty })
        #expect(config.communities[0].decoding == config.commentDecoding)
        #expect(config.populations == [Population(name: "pop", weights: ["a": 2])])
        #expect(config.questions == [QuestionSource(file: "q.jsonl", pool: "p")])
        #expect(inputs.items.count == 1)
        let item = try #require(inputs.items.first)
        #expect(item == Item(id: "o1", mode: .overton, pool: "p", sourceFile: "q.jsonl", line: 1, text: "Keeping a found wallet."))
    }

    @Test func unknownFields() throws {
        let found = try errors([
            "run.json": Folder.config(a: #""name": "a", "description": "A.", "system_prompt": "S.", "colour": "red""#, extra: "  \"sed\": 1,\n"),
            "q.jsonl": #"{"id": "o1", "mode": "overton", "situaton": "x"}"# + "\n",
        ])
        #expect(found.count == 4)
        #expect(found[0].file == "run.json" && found[0].line == 5 && found[0].field == "sed")
        #expect(found[0].message.hasPrefix("unknown field; expected one of: name, seed, pools,"))
        #expect(found[1] == error("run.json", 3, "pools[0].communities[0].colour",
                                  "unknown field; expected one of: name, label, description, system_prompt, profile, model, decoding"))
        // Question files are still checked when the config has problems.
        #expect(found[2] == error("q.jsonl", 1, "situaton", "unknown field; expected one of: id, mode, situation, values"))
        #expect(found[3] == error("q.jsonl", 1, "situation", "missing field"))
    }

    @Test func missingFields() throws {
        let found = try errors([
            "run.json": Folder.config(a: #""name": "a", "system_prompt": "S.""#),
            "q.jsonl": #"{"mode": "overton", "situation": "x"}"# + "\n" + #"{"id": "o2"}"# + "\n",
        ])
        #expect(found == [
            error("run.json", 3, "pools[0].communities[0].description", "missing field"),
            error("q.jsonl", 1, "id", "missing field"),
            error("q.jsonl", 2, "mode", "missing field; expected one of: overton, steerable, distributional"),
        ])
        let noPools = try errors(["run.json": #"{"questions": []}"#])
        #expect(noPools == [
            error("run.json", 1, "pools", "missing field"),
            error("run.json", 1, "questions", "no question files; list at least one {\"file\", \"pool\"}"),
        ])
    }

    @Test func wrongTypes() throws {
        let found = try errors([
            "run.json": Folder.config(extra: "  \"seed\": \"42\",\n  \"methods\": \"overton\",\n"),
            "q.jsonl": #"{"id": 7, "mode": "distributional", "question": "Q?", "options": "x, y"}"# + "\n",
        ])
        #expect(found == [
            error("run.json", 5, "seed", "expected a whole number, found a string"),
            error("run.json", 6, "methods", "expected an array, found a string"),
            error("q.jsonl", 1, "id", "expected a string, found a number"),
            error("q.jsonl", 1, "options", "expected an array, found a string"),
        ])
        let notObject = try errors(["run.json": Folder.config(), "q.jsonl": "[1, 2]\n"])
        #expect(notObject == [error("q.jsonl", 1, "", "expected one JSON object per line, found an array")])
        let fraction = try errors(["run.json": Folder.config(extra: "  \"seed\": 1.5,\n  \"distribution_top_logprobs\": 0,\n"), "q.jsonl": Folder.overton])
        #expect(fraction == [
            error("run.json", 5, "seed", "expected a whole number from 0 to 18446744073709551615, found 1.5"),
            error("run.json", 6, "distribution_top_logprobs", "0 is out of range; expected at least 1"),
        ])
    }

    @Test func duplicateIdsAcrossFiles() throws {
        let found = try errors([
            "run.json": Folder.config(questions: #"[{"file": "q.jsonl", "pool": "p"}, {"file": "more/r.jsonl", "pool": "p"}]"#),
            "q.jsonl": Folder.overton + "\n",
            "more/r.jsonl": "\n" + Folder.overton + "\n",
        ])
        #expect(found.count == 1)
        let duplicate = try #require(found.first)
        #expect(duplicate.file == "more/r.jsonl" && duplicate.line == 2 && duplicate.field == "id")
        #expect(duplicate.message.hasPrefix("duplicate id \"o1\"; first used at "))
        #expect(duplicate.message.hasSuffix("/q.jsonl:1"))
    }

    @Test func goldDistributionMustSumToOne() throws {
        func item(_ gold: String) -> String {
            #"{"id": "d1", "mode": "distributional", "question": "Q?", "options": ["x", "y"], "gold_distribution": \#(gold)}"#
        }
        let found = try errors(["run.json": Folder.config(), "q.jsonl": item("[0.5, 0.4]")])
        #expect(found == [error("q.jsonl", 1, "gold_distribution", "probabilities sum to 0.9; they must sum to 1 (±1e-6)")])
        let off = try errors(["run.json": Folder.config(), "q.jsonl": item("[0.5, 0.500002]")])
        #expect(off.map(\.field) == ["gold_distribution"])
        let withinTolerance = try Folder(["run.json": Folder.config(), "q.jsonl": item("[0.5, 0.5000004]")])
        defer { withinTolerance.remove() }
        #expect(try withinTolerance.load().items[0].goldDistribution == [0.5, 0.5000004])
        let wrongCount = try errors(["run.json": Folder.config(), "q.jsonl": item("[1]")])
        #expect(wrongCount == [error("q.jsonl", 1, "gold_distribution", "1 probability given for 2 options; give one per option")])
    }

    @Test func negativeProbabilities() throws {
        let found = try errors([
            "run.json": Folder.config(),
            "q.jsonl": #"{"id": "d1", "mode": "distributional", "question": "Q?", "options": ["x", "y"], "gold_distribution": [1.5, -0.5]}"#,
        ])
        #expect(found == [error("q.jsonl", 1, "gold_distribution[1]", "negative probability -0.5")])
    }

    @Test func optionCountOutsideTwoToTwentySix() throws {
        let lines = Array(repeating: "", count: 6) + [
            #"{"id": "d1", "mode": "distributional", "question": "Q?", "options": ["only"]}"#,
            #"{"id": "d2", "mode": "distributional", "question": "Q?", "options": [\#((1...27).map { "\"o\($0)\"" }.joined(separator: ", "))]}"#,
            #"{"id": "s1", "mode": "steerable", "question": "Q?", "attribute": "age: 30", "options": []}"#,
            #"{"id": "d3", "mode": "distributional", "question": "Q?", "options": ["same", "same"]}"#,
        ]
        let folder = try Folder([
            "inputs/run.json": Folder.config(questions: #"[{"file": "questions/overton.jsonl", "pool": "p"}]"#),
            "inputs/questions/overton.jsonl": lines.joined(separator: "\n"),
        ])
        defer { folder.remove() }
        let found = folder.errors("inputs/run.json")
        #expect(found.map(\.description) == [
            folder.path + "/inputs/questions/overton.jsonl:7: options: 1 option given; a multiple-choice item needs 2 to 26",
            folder.path + "/inputs/questions/overton.jsonl:8: options: 27 options given; a multiple-choice item needs 2 to 26",
            folder.path + "/inputs/questions/overton.jsonl:9: options: 0 options given; a multiple-choice item needs 2 to 26",
            folder.path + "/inputs/questions/overton.jsonl:10: options[1]: duplicate option \"same\" (same as option A)",
        ])
    }

    @Test func goldOutOfRange() throws {
        func item(_ id: String, _ gold: String, options: String = #"["supports", "opposes", "either"]"#) -> String {
            #"{"id": "\#(id)", "mode": "steerable", "situation": "S.", "attribute": "Honesty", "options": \#(options), "gold": \#(gold)}"#
        }
        let found = try errors([
            "run.json": Folder.config(),
            "q.jsonl": [item("s1", #""D""#), item("s2", "3"), item("s3", "-1"), item("s4", #""b""#), item("s5", "true"),
                        #"{"id": "s6", "mode": "steerable", "situation": "S.", "attribute": "Honesty", "gold": "A"}"#].joined(separator: "\n"),
        ])
        let range = "the item has 3 options (A to C, or indices 0 to 2)"
        #expect(found == [
            error("q.jsonl", 1, "gold", "gold \"D\" is out of range; \(range)"),
            error("q.jsonl", 2, "gold", "gold index 3 is out of range; \(range)"),
            error("q.jsonl", 3, "gold", "gold index -1 is out of range; \(range)"),
            error("q.jsonl", 4, "gold", "\"b\" is not an option letter; expected a capital letter or a 0-based index"),
            error("q.jsonl", 5, "gold", "expected an option letter or a 0-based index, found a boolean"),
            error("q.jsonl", 6, "gold", "a gold answer needs options to point at"),
        ])
        let folder = try Folder(["run.json": Folder.config(), "q.jsonl": item("s1", #""B""#) + "\n" + item("s2", "2")])
        defer { folder.remove() }
        #expect(try folder.load().items.map(\.gold) == [1, 2])
    }

    @Test func unknownCommunityInPopulationWeights() throws {
        let found = try errors([
            "run.json": Folder.config(populations: "{\"pop\": {\"a\": 1,\n    \"zz\": 2, \"b\": -1}}"),
            "q.jsonl": Folder.overton,
        ])
        #expect(found == [
            error("run.json", 6, "populations.pop.zz", "unknown community \"zz\""),
            error("run.json", 6, "populations.pop.b", "negative weight -1; weights must be 0 or more"),
        ])
    }

    @Test func debiasSettingsAreReadAndChecked() throws {
        for (setting, expected) in [(#""all""#, DebiasSettings.Rotations.all), (#""none""#, .none), ("3", .count(3))] {
            let folder = try Folder([
                "run.json": Folder.config(extra: "  \"debias\": {\"rotations\": \(setting), \"passages\": \"config\"},\n"),
                "q.jsonl": Folder.overton,
            ])
            defer { folder.remove() }
            let config = try folder.load().config
            #expect(config.debias == DebiasSettings(rotations: expected, passages: .config))
            #expect(config.canonicalJSON.contains(#""debias":{"passages":"config","rotations":\#(setting)}"#))
        }
        let found = try errors([
            "run.json": Folder.config(extra: "  \"debias\": {\"rotations\": 0,\n    \"passages\": \"random\", \"order\": 1},\n"),
            "q.jsonl": Folder.overton,
        ])
        #expect(found == [
            error("run.json", 6, "debias.order", "unknown field; expected one of: rotations, passages"),
            error("run.json", 5, "debias.rotations", "0 is out of range; expected at least 1"),
            error("run.json", 6, "debias.passages", "unknown passage order \"random\"; expected one of: shuffled, config"),
        ])
        let words = try errors(["run.json": Folder.config(extra: "  \"debias\": {\"rotations\": \"some\"},\n"), "q.jsonl": Folder.overton])
        #expect(words == [error("run.json", 5, "debias.rotations",
                                "unknown setting \"some\"; expected \"all\" (every rotation), \"none\" (the configuration's order only) or a whole number of rotations from 1")])
        let type = try errors(["run.json": Folder.config(extra: "  \"debias\": {\"rotations\": true},\n"), "q.jsonl": Folder.overton])
        #expect(type == [error("run.json", 5, "debias.rotations", "expected \"all\", \"none\" or a whole number, found a boolean")])
    }

    @Test func populationsTakeALabelAndTheOldFormStillLoads() throws {
        let folder = try Folder([
            "run.json": Folder.config(populations: #"{"japan": {"label": "Japan", "weights": {"a": 2}}, "old": {"b": 3}, "plain": {"label": "Everyone"}, "none": {}}"#),
            "q.jsonl": Folder.overton,
        ])
        defer { folder.remove() }
        let config = try folder.load().config
        #expect(config.populations == [
            Population(name: "japan", label: "Japan", weights: ["a": 2]), Population(name: "old", weights: ["b": 3]),
            Population(name: "plain", label: "Everyone"), Population(name: "none"),
        ])
        #expect(config.canonicalJSON.contains(#""populations":{"japan":{"label":"Japan","weights":{"a":2}},"none":{"weights":{}},"#))

        let found = try errors([
            "run.json": Folder.config(populations: "{\"japan\": {\"label\": \"\", \"weights\": {\"zz\": 1}},\n    \"odd\": {\"label\": \"L\", \"colour\": 1}, \"num\": {\"label\": 2}}"),
            "q.jsonl": Folder.overton,
        ])
        #expect(found == [
            error("run.json", 5, "populations.japan.label", "must not be empty"),
            error("run.json", 5, "populations.japan.weights.zz", "unknown community \"zz\""),
            error("run.json", 6, "populations.odd.colour", "unknown field; expected one of: label, weights"),
            // A number is a weight: the old form, naming a community "label" that does not exist.
            error("run.json", 6, "populations.num.label", "unknown community \"label\""),
        ])
    }

    @Test func communityLabelsAndModelsWithoutLogprobs() throws {
        let folder = try Folder([
            "run.json": Folder.config(a: #""name": "a", "label": "Alpha camp", "description": "A.", "system_prompt": "S.""#,
                                      extra: "  \"base_model\": {\"backend\": \"embedded\", \"logprobs\": false},\n"),
            "q.jsonl": Folder.overton,
        ])
        defer { folder.remove() }
        let config = try folder.load().config
        #expect(config.communities.map(\.label) == ["Alpha camp", nil])
        #expect(config.baseModel == ModelSpec(backend: "embedded", logprobs: false))
        #expect(!config.baseModel.givesLogprobs && ModelSpec.embedded.givesLogprobs)

        // Multiple-choice answers are read from log-probabilities: a base model without them
        // cannot answer them.
        let found = try errors([
            "run.json": Folder.config(extra: "  \"base_model\": {\"backend\": \"openai\", \"base_url\": \"http://h/v1\", \"model\": \"m\",\n    \"logprobs\": false},\n"),
            "q.jsonl": Folder.overton + "\n" + Folder.distributional,
        ])
        #expect(found == [error("run.json", 5, "base_model.logprobs",
                                "the base model gives no log-probabilities, but 1 multiple-choice item(s) (first: d1) are answered from them; use a backend that returns log-probabilities or leave out the multiple-choice items")])
        let type = try errors(["run.json": Folder.config(extra: "  \"base_model\": {\"backend\": \"embedded\", \"logprobs\": \"no\"},\n"),
                               "q.jsonl": Folder.overton])
        #expect(type == [error("run.json", 5, "base_model.logprobs", "expected true or false, found a string")])
    }

    @Test func aPoolHasAtMostTwentySixCommunities() throws {
        let many = (1...26).map { #"{"name": "c\#($0)", "description": "D.", "system_prompt": "S."}"# }.joined(separator: ", ")
        let found = try errors(["run.json": Folder.config(b: #""name": "b", "description": "B.", "system_prompt": "S."}, \#(many)"#.dropLast().description),
                                "q.jsonl": Folder.overton])
        #expect(found == [error("run.json", 2, "pools[0].communities", "28 communities; a pool has at most 26 (selections letter them A to Z)")])
    }

    @Test func unknownPopulationAndAllZeroWeights() throws {
        let found = try errors([
            "run.json": Folder.config(populations: #"{"pop": {"a": 0, "b": 0}}"#),
            "q.jsonl": [
                #"{"id": "d1", "mode": "distributional", "question": "Q?", "options": ["x", "y"], "population": "nowhere"}"#,
                #"{"id": "d2", "mode": "distributional", "question": "Q?", "options": ["x", "y"], "population": "pop"}"#,
            ].joined(separator: "\n"),
        ])
        #expect(found == [
            error("q.jsonl", 1, "population", "unknown population \"nowhere\"; the config defines: pop"),
            error("q.jsonl", 2, "population", "population \"pop\" gives every community of pool \"p\" weight 0; nothing would be left to mix"),
        ])
    }

    @Test func unknownPool() throws {
        let found = try errors(["run.json": Folder.config(questions: #"[{"file": "q.jsonl", "pool": "culture"}]"#), "q.jsonl": Folder.overton])
        #expect(found == [error("run.json", 6, "questions[0].pool", "unknown pool \"culture\"; the config defines: p")])
    }

    @Test func unknownBackend() throws {
        let found = try errors([
            "run.json": Folder.config(b: #""name": "b", "description": "B.", "system_prompt": "S.", "model": {"backend": "llamafile"}"#),
            "q.jsonl": Folder.overton,
        ])
        #expect(found == [error("run.json", 4, "pools[0].communities[1].model.backend", "unknown backend \"llamafile\"; expected one of: embedded, openai")])
    }

    @Test func unknownMethod() throws {
        let found = try errors([
            "run.json": Folder.config(extra: "  \"methods\": [\"overton\", \"debate\", \"overton\"],\n"),
            "q.jsonl": Folder.overton,
        ])
        #expect(found == [
            error("run.json", 5, "methods[1]", "unknown method \"debate\"; expected one of: overton, steerable, distributional, vanilla, prompting, moe"),
            error("run.json", 5, "methods[2]", "method \"overton\" listed twice"),
        ])
    }

    @Test func missingProfileFile() throws {
        let found = try errors([
            "run.json": Folder.config(a: #""name": "a", "description": "A.", "system_prompt": "S.", "profile": "profiles/a.md""#,
                                      b: #""name": "b", "description": "B.", "system_prompt": "S.", "profile": "empty.md""#),
            "empty.md": "\n  \n",
            "q.jsonl": Folder.overton,
        ])
        #expect(found.count == 2)
        #expect(found[0].file == "run.json" && found[0].line == 3 && found[0].field == "pools[0].communities[0].profile")
        #expect(found[0].message.hasPrefix("profile file not found: ") && found[0].message.hasSuffix("/profiles/a.md"))
        #expect(found[1].line == 4 && found[1].message.hasSuffix("/empty.md is empty"))
    }

    @Test func openAIBackendNeedsBaseURLAndModel() throws {
        let found = try errors([
            "run.json": Folder.config(a: #""name": "a", "description": "A.", "system_prompt": "S.", "model": {"backend": "openai"}"#,
                                      extra: "  \"base_model\": {\"backend\": \"openai\", \"base_url\": \"localhost:8000\", \"model\": \"m\", \"api_key_env\": \"sk-123\", \"max_in_flight\": 0},\n"),
            "q.jsonl": Folder.overton,
        ])
        #expect(found == [
            error("run.json", 3, "pools[0].communities[0].model.base_url", "missing field"),
            error("run.json", 3, "pools[0].communities[0].model.model", "missing field; the openai backend needs the server's model name"),
            error("run.json", 5, "base_model.base_url", "\"localhost:8000\" is not an http:// or https:// URL"),
            error("run.json", 5, "base_model.api_key_env",
                  "\"sk-123\" is not an environment variable name (letters, digits and '_', not starting with a digit); the key itself belongs in the environment, not in the config"),
            error("run.json", 5, "base_model.max_in_flight", "0 is out of range; expected from 1 to 1024"),
        ])
    }

    @Test func openAIModelIsReadWithDefaults() throws {
        let folder = try Folder([
            "run.json": Folder.config(extra: "  \"base_model\": {\"backend\": \"openai\", \"base_url\": \"http://127.0.0.1:8000/v1\", \"model\": \"m\", \"api_key_env\": \"PLURALISM_KEY\"},\n"),
            "q.jsonl": Folder.overton,
        ])
        defer { folder.remove() }
        #expect(try folder.load().config.baseModel == ModelSpec(backend: "openai", baseURL: "http://127.0.0.1:8000/v1", model: "m",
                                                                  apiKeyEnv: "PLURALISM_KEY", maxInFlight: 8))
    }

    @Test func embeddedBackendRefusesServerFields() throws {
        let found = try errors([
            "run.json": Folder.config(a: #""name": "a", "description": "A.", "system_prompt": "S.", "model": {"backend": "embedded", "base_url": "http://x"}"#),
            "q.jsonl": Folder.overton,
        ])
        #expect(found == [error("run.json", 3, "pools[0].communities[0].model.base_url", "applies only to the openai backend")])
    }

    @Test func duplicateCommunityNames() throws {
        let found = try errors([
            "run.json": Folder.config(b: #""name": "a", "description": "B.", "system_prompt": "S.""#),
            "q.jsonl": Folder.overton,
        ])
        #expect(found == [error("run.json", 4, "pools[0].communities[1].name",
                                "duplicate community name \"a\" (first on line 3); names must be unique across all pools")])
    }

    @Test func duplicateKeysAndPoolsAndFiles() throws {
        let found = try errors([
            "run.json": Folder.config(a: #""name": "a", "name": "a2", "description": "A.", "system_prompt": "S.""#,
                                      questions: "[{\"file\": \"q.jsonl\", \"pool\": \"p\"},\n    {\"file\": \"./q.jsonl\", \"pool\": \"p\"}]"),
            "q.jsonl": Folder.overton,
        ])
        #expect(found == [
            error("run.json", 3, "pools[0].communities[0].name", "field given twice (first on line 3)"),
            error("run.json", 7, "questions[1].file", "question file \"./q.jsonl\" listed twice (first on line 6)"),
        ])
    }

    @Test func invalidNamesAndDecoding() throws {
        let found = try errors([
            "run.json": Folder.config(a: #""name": "a", "description": " ", "system_prompt": "S.", "decoding": {"temperature": -1, "top_p": 0, "max_tokens": 0}"#,
                                      b: #""name": "b b", "description": "B.", "system_prompt": "S.""#),
            "q.jsonl": #"{"id": "o/1", "mode": "overton", "situation": "x"}"#,
        ])
        #expect(found.map(\.field) == [
            "pools[0].communities[0].description", "pools[0].communities[0].decoding.temperature",
            "pools[0].communities[0].decoding.top_p", "pools[0].communities[0].decoding.max_tokens", "pools[0].communities[1].name", "id",
        ])
        #expect(found[0].message == "must not be empty")
        #expect(found[1].message == "-1 is out of range; expected 0 (greedy) to 10")
    }

    @Test func malformedJSONNamesLineAndColumn() throws {
        let config = try errors(["run.json": "{\n  \"pools\": [\n    {\"name\": \"p\",}\n  ]\n}\n"])
        #expect(config == [InputError(file: "run.json", line: 3, field: "", message: "malformed JSON: trailing comma before '}'", column: 18)])
        #expect(config[0].description == "run.json:3:18: malformed JSON: trailing comma before '}'")
        let lines = try errors(["run.json": Folder.config(), "q.jsonl": Folder.overton + "\n" + #"{"id": "o2", "mode": "overton" "situation": "x"}"#])
        #expect(lines == [InputError(file: "q.jsonl", line: 2, field: "", message: "malformed JSON: expected ',' or '}' in object, found '\"'", column: 32)])
        let missing = try errors([:])
        #expect(missing == [error("run.json", 0, "", "cannot read the run config: not found")])
        #expect(missing[0].description == "run.json: cannot read the run config: not found")
    }

    @Test func steerableNeedsExactlyOneText() throws {
        let found = try errors([
            "run.json": Folder.config(),
            "q.jsonl": [
                #"{"id": "s1", "mode": "steerable", "attribute": "Honesty"}"#,
                #"{"id": "s2", "mode": "steerable", "situation": "S.", "question": "Q?", "attribute": "Honesty"}"#,
                #"{"id": "s3", "mode": "steerable", "question": "Q?"}"#,
                #"{"id": "s4", "mode": "debate", "question": "Q?"}"#,
                #"{"id": "o1", "mode": "overton", "situation": "S.", "values": [{"value": "Care"}, "x"]}"#,
            ].joined(separator: "\n"),
        ])
        #expect(found == [
            error("q.jsonl", 1, "situation", "missing field; a steerable item needs a situation or a question"),
            error("q.jsonl", 2, "question", "give a situation or a question, not both"),
            error("q.jsonl", 3, "attribute", "missing field"),
            error("q.jsonl", 4, "mode", "unknown mode \"debate\"; expected one of: overton, steerable, distributional"),
            error("q.jsonl", 5, "values[0].explanation", "missing field"),
            error("q.jsonl", 5, "values[1]", "expected an object, found a string"),
        ])
    }

    @Test func everyProblemIsReportedInOnePass() throws {
        let found = try errors([
            "run.json": Folder.config(b: #""name": "b", "description": "B.""#, extra: "  \"methods\": [\"vote\"],\n",
                                      questions: #"[{"file": "q.jsonl", "pool": "p"}, {"file": "absent.jsonl", "pool": "p"}]"#),
            "q.jsonl": Folder.distributional.replacingOccurrences(of: #"["x", "y"]"#, with: #"["x"]"#) + "\n\n" + Folder.overton + "\n" + Folder.overton,
        ])
        #expect(found.map { "\($0.file):\($0.line):\($0.field)" } == [
            "run.json:4:pools[0].communities[1].system_prompt",
            "run.json:5:methods[0]",
            "run.json:7:questions[1].file",
            "q.jsonl:1:options",
            "q.jsonl:4:id",
        ])
        let errors = InputErrors(errors: found)
        #expect(errors.description.hasPrefix("invalid inputs (5 problems):\nrun.json:4: pools[0].communities[1].system_prompt: missing field\n"))
    }

    @Test func blankLinesAndCRLFAreAccepted() throws {
        let folder = try Folder(["run.json": Folder.config(), "q.jsonl": "\r\n  \r\n" + Folder.overton + "\r\n\n" + Folder.distributional + "\r\n"])
        defer { folder.remove() }
        let items = try folder.load().items
        #expect(items.map(\.id) == ["o1", "d1"])
        #expect(items.map(\.line) == [3, 5])
    }

    @Test func communityDecodingOverridesTheRunDefaults() throws {
        let folder = try Folder([
            "run.json": Folder.config(b: #""name": "b", "description": "B.", "system_prompt": "S.", "decoding": {"temperature": 0.7, "top_k": 40}"#,
                                      extra: "  \"seed\": 18446744073709551615,\n  \"decoding\": {\"comment\": {\"max_tokens\": 64}, \"base\": {\"temperature\": 0}},\n"),
            "q.jsonl": Folder.overton,
        ])
        defer { folder.remove() }
        let config = try folder.load().config
        #expect(config.seed == UInt64.max)
        #expect(config.commentDecoding == Decoding(temperature: 1.0, topP: 0.9, maxTokens: 64, seed: UInt64.max))
        #expect(config.baseDecoding == Decoding(temperature: 0, topP: 1.0, maxTokens: 200, seed: UInt64.max))
        #expect(config.communities[0].decoding == config.commentDecoding)
        #expect(config.communities[1].decoding == Decoding(temperature: 0.7, topP: 0.9, topK: 40, maxTokens: 64, seed: UInt64.max))
    }

    @Test func displayPathsFollowTheConfigPath() {
        #expect(InputFolder(configPath: "inputs/run.json").displayPath("questions/overton.jsonl") == "inputs/questions/overton.jsonl")
        #expect(InputFolder(configPath: "run.json").displayPath("./questions/../q.jsonl") == "q.jsonl")
        #expect(InputFolder(configPath: "/etc/run.json").displayPath("q.jsonl") == "/etc/q.jsonl")
        #expect(InputFolder(configPath: "/run.json").displayPath("q.jsonl") == "/q.jsonl")
        #expect(InputFolder(configPath: "a/run.json").displayPath("/abs/q.jsonl") == "/abs/q.jsonl")
        #expect(InputFolder.normalise("../shared/./x/../q.jsonl") == "../shared/q.jsonl")
    }

    @Test func auditBlockIsReadAndValidated() throws {
        let good = try Folder(["run.json": Folder.config(extra: """
              "audit": {"scorer": "judge", "judge_model": {"backend": "embedded"},
                        "thresholds": {"faithfulness": 0.7}},

            """), "q.jsonl": Folder.overton + "\n"])
        defer { good.remove() }
        let audit = try good.load().config.audit
        #expect(audit.scorer == .judge && audit.judgeModel == .embedded)
        #expect(audit.thresholds.faithfulness == 0.7)
        #expect(audit.thresholds.representation == AuditSettings.Thresholds.judge.representation)

        let found = try errors([
            "run.json": Folder.config(extra: """
                  "audit": {"scorer": "nli",
                            "thresholds": {"faithfulness": 1.5, "recall": 0.2}},

                """),
            "q.jsonl": Folder.overton + "\n",
        ])
        #expect(found.count == 3)
        #expect(found[0] == error("run.json", 5, "audit.scorer", "unknown scorer \"nli\"; expected one of: embedding, judge"))
        #expect(found[1].line == 6 && found[1].field == "audit.thresholds.recall")
        #expect(found[2] == error("run.json", 6, "audit.thresholds.faithfulness", "1.5 is out of range; expected 0 to 1"))
    }

    @Test func theAuditBlockIsNotPartOfTheRunIdentity() throws {
        let plain = try Folder(["run.json": Folder.config(), "q.jsonl": Folder.overton + "\n"])
        defer { plain.remove() }
        let audited = try Folder(["run.json": Folder.config(extra: """
              "audit": {"thresholds": {"faithfulness": 0.9}},

            """), "q.jsonl": Folder.overton + "\n"])
        defer { audited.remove() }
        let other = try Folder(["run.json": Folder.config(extra: "  \"seed\": 5,\n"), "q.jsonl": Folder.overton + "\n"])
        defer { other.remove() }
        #expect(try plain.load().runID == audited.load().runID)
        #expect(try plain.load().runID != other.load().runID)
    }
}
