import ContentHash
import Foundation

/// Reads a run config, its profiles and its question files, and validates all of it before
/// any model is touched. Every problem is collected; `load` throws `InputErrors` listing them.
public enum InputLoader {
    /// Loads and validates the config at `configPath` (paths inside it are relative to its
    /// folder). Throws `InputErrors` with every problem found.
    public static func load(configPath: String) throws -> RunInputs {
        var loader = ConfigLoader(configPath: configPath)
        return try loader.load()
    }
}

/// A file read from disk: its bytes, for hashing and parsing.
struct InputFile {
    /// The path as shown in errors: the config's folder joined with the relative path.
    let displayPath: String
    /// The path relative to the config's folder: the key in `fileHashes`.
    let key: String
    let bytes: [UInt8]
}

/// The config's folder and the files read through it.
struct InputFolder {
    let directory: String

    init(configPath: String) {
        if let slash = configPath.lastIndex(of: "/") {
            directory = String(configPath[..<slash]).isEmpty ? "/" : String(configPath[..<slash])
        } else {
            directory = ""
        }
    }

    /// Lexically normalised (`./a/../b` → `b`), so one file has one key however it is named.
    static func normalise(_ path: String) -> String {
        let absolute = path.hasPrefix("/")
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == "..", let last = parts.last, last != ".." {
                parts.removeLast()
                continue
            }
            if part == "..", absolute { continue }
            parts.append(part)
        }
        let joined = parts.joined(separator: "/")
        return absolute ? "/" + joined : joined
    }

    func displayPath(_ relative: String) -> String {
        let key = InputFolder.normalise(relative)
        if key.hasPrefix("/") || directory.isEmpty { return key }
        return directory == "/" ? "/" + key : directory + "/" + key
    }

    /// Why a file named relative to the config's folder cannot be read ("not found", "is a
    /// folder", …), or nil when it is a readable regular file.
    func problem(_ relative: String) -> String? {
        InputFolder.problem(atPath: displayPath(relative))
    }

    /// Why the file at `path` cannot be read as an input, or nil when it is a readable
    /// regular file. Checked before reading: opening a FIFO would block for ever.
    static func problem(atPath path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else {
            switch errno {
            case ENOENT, ENOTDIR: return "not found"
            case ELOOP: return "is a symbolic link loop"
            case EACCES: return "not readable (permission denied)"
            default: return "cannot be read (\(String(cString: strerror(errno))))"
            }
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: return "is a folder, not a file"
        case S_IFIFO: return "is a FIFO (named pipe), not a regular file"
        case S_IFSOCK: return "is a socket, not a regular file"
        default: return "is a device, not a regular file"
        }
        return access(path, R_OK) == 0 ? nil : "not readable (permission denied)"
    }

    /// "question file not found: q.jsonl", or "question file q.jsonl is a folder, not a file".
    static func describe(_ kind: String, _ path: String, _ problem: String?) -> String {
        guard let problem, problem != "not found" else { return "\(kind) not found: \(path)" }
        return "\(kind) \(path) \(problem)"
    }

    /// Reads a file named relative to the config's folder; nil when it cannot be read.
    func read(_ relative: String) -> InputFile? {
        let display = displayPath(relative)
        guard problem(relative) == nil, let data = FileManager.default.contents(atPath: display) else { return nil }
        return InputFile(displayPath: display, key: InputFolder.normalise(relative), bytes: [UInt8](data))
    }
}

/// Names the inputs allow for ids and community names: they end up in file names and URLs.
enum Identifier {
    static let maximumLength = 128
    static let rule = "letters, digits, '.', '_' and '-', starting with a letter or digit, at most 128 characters"

    static func isValid(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= maximumLength, isAlphanumeric(first) else { return false }
        return name.utf8.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}

struct ConfigLoader {
    static let topFields = ["name", "seed", "pools", "base_model", "methods", "decoding", "distribution_top_logprobs", "populations",
                            "questions", "audit", "debias"]
    static let poolFields = ["name", "communities"]
    static let communityFields = ["name", "label", "description", "system_prompt", "profile", "model", "decoding"]
    static let modelFields = ["backend", "base_url", "model", "api_key_env", "max_in_flight", "logprobs", "server", "endpoint",
                              "timeout", "retry_budget", "on_server_change"]
    static let populationFields = ["label", "weights"]
    static let debiasFields = ["rotations", "passages"]
    /// Candidates are lettered A to Z when a choice is read from log-probabilities.
    static let maximumPoolSize = 26
    static let decodingFields = ["temperature", "top_p", "top_k", "max_tokens"]
    static let questionFields = ["file", "pool"]

    let configPath: String
    let folder: InputFolder
    let problems = Problems()
    let reader: NodeReader
    var fileHashes: [String: String] = [:]
    /// Every community and pool name the config declares, valid or not: later checks
    /// (population weights, question pools) use these so one broken community does not
    /// also show up as "unknown" everywhere it is named.
    var declaredCommunities: Set<String> = []
    var declaredPools: Set<String> = []

    init(configPath: String) {
        self.configPath = configPath
        folder = InputFolder(configPath: configPath)
        reader = NodeReader(file: configPath, problems: problems)
    }

    mutating func load() throws -> RunInputs {
        if let problem = InputFolder.problem(atPath: configPath) {
            throw InputErrors(errors: [InputError(file: configPath, line: 0, field: "", message: "cannot read the run config: \(problem)")])
        }
        guard let data = FileManager.default.contents(atPath: configPath) else {
            throw InputErrors(errors: [InputError(file: configPath, line: 0, field: "", message: "cannot read the run config")])
        }
        let bytes = [UInt8](data)
        let configKey = InputFolder.normalise(lastComponent(configPath))
        fileHashes[configKey] = SHA256.hex(bytes)
        let root: JSONNode
        do {
            root = try JSONParser.parse(bytes: bytes)
        } catch {
            throw InputErrors(errors: [InputError(file: configPath, line: error.position.line, field: "",
                                                  message: "malformed JSON: \(error.message)", column: error.position.column)])
        }
        guard let top = reader.object(root, "", allowed: ConfigLoader.topFields) else {
            throw InputErrors(errors: problems.errors)
        }

        let name = top.node("name").flatMap { reader.text($0, "name") } ?? defaultName
        // The name becomes a folder (runs/<name>/), so it follows the community names' rule.
        if !Identifier.isValid(name) {
            let line = top.node("name")?.position.line ?? 1
            let origin = top.node("name") == nil ? " (taken from the config's file name; set \"name\")" : ""
            problems.report(configPath, line, "name", "invalid run name \"\(name)\"\(origin); use \(Identifier.rule)")
        }
        let seed = top.node("seed").flatMap { reader.unsigned($0, "seed") } ?? 0
        var commentDecoding = RunConfig.defaultCommentDecoding
        var baseDecoding = RunConfig.defaultBaseDecoding
        if let node = top.node("decoding"), let decoding = reader.object(node, "decoding", allowed: ["comment", "base"]) {
            if let node = decoding.node("comment") { commentDecoding = readDecoding(node, "decoding.comment", over: commentDecoding) }
            if let node = decoding.node("base") { baseDecoding = readDecoding(node, "decoding.base", over: baseDecoding) }
        }
        commentDecoding.seed = seed
        baseDecoding.seed = seed

        var communities = top.required("pools").map { readPools($0, commentDecoding: commentDecoding) } ?? []
        for index in communities.indices { communities[index].decoding.seed = seed }
        let baseModel = top.node("base_model").flatMap { readModel($0, "base_model") } ?? .embedded
        let methods = top.node("methods").map(readMethods) ?? Method.allCases
        let topLogprobs = top.node("distribution_top_logprobs")
            .flatMap { reader.integer($0, "distribution_top_logprobs", in: 1...Int.max) } ?? RunConfig.defaultDistributionTopLogprobs
        let populations = top.node("populations").map(readPopulations) ?? []
        let questions = top.required("questions").map(readQuestionSources) ?? []
        let audit = top.node("audit").map(readAudit) ?? AuditSettings()
        let debias = top.node("debias").map(readDebias) ?? DebiasSettings()

        let config = RunConfig(name: name, seed: seed, communities: communities, baseModel: baseModel, methods: methods,
                               commentDecoding: commentDecoding, baseDecoding: baseDecoding,
                               distributionTopLogprobs: topLogprobs, populations: populations, questions: questions,
                               audit: audit, debias: debias)

        var itemReader = ItemReader(config: config, problems: problems)
        for source in questions {
            guard let file = folder.read(source.file) else { continue }  // reported by readQuestionSources
            fileHashes[file.key] = SHA256.hex(file.bytes)
            itemReader.read(file, pool: source.pool)
        }
        checkChoicesCanBeRead(config, items: itemReader.items, baseModelNode: top.node("base_model"))
        if !problems.errors.isEmpty { throw InputErrors(errors: problems.errors) }
        return RunInputs(config: config, items: itemReader.items, fileHashes: fileHashes, configFile: configKey)
    }

    /// The config file's name without its extension: `inputs/run.json` runs as "run".
    private var defaultName: String {
        let file = lastComponent(configPath)
        guard let dot = file.lastIndex(of: "."), dot != file.startIndex else { return file }
        return String(file[..<dot])
    }

    private func lastComponent(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    // MARK: sections

    private mutating func readPools(_ node: JSONNode, commentDecoding: Decoding) -> [CommunitySpec] {
        guard let pools = reader.array(node, "pools") else { return [] }
        if pools.isEmpty { problems.report(configPath, node.position.line, "pools", "no pools; a run needs at least one pool of communities") }
        var communities: [CommunitySpec] = []
        var poolLines: [String: Int] = [:]
        var communityLines: [String: Int] = [:]
        for (poolIndex, poolNode) in pools.enumerated() {
            let poolPath = "pools[\(poolIndex)]"
            guard let pool = reader.object(poolNode, poolPath, allowed: ConfigLoader.poolFields) else { continue }
            let poolName = pool.requiredText("name")
            if let poolName { declaredPools.insert(poolName) }
            if let poolName, let namePosition = pool.node("name")?.position {
                if !Identifier.isValid(poolName) {
                    problems.report(configPath, namePosition.line, pool.path("name"), "invalid pool name \"\(poolName)\"; use \(Identifier.rule)")
                } else if let first = poolLines[poolName] {
                    problems.report(configPath, namePosition.line, pool.path("name"), "duplicate pool name \"\(poolName)\" (first on line \(first))")
                } else {
                    poolLines[poolName] = namePosition.line
                }
            }
            guard let membersNode = pool.required("communities"), let members = reader.array(membersNode, pool.path("communities")) else { continue }
            if members.isEmpty {
                problems.report(configPath, membersNode.position.line, pool.path("communities"), "no communities; a pool needs at least one")
            } else if members.count > ConfigLoader.maximumPoolSize {
                problems.report(configPath, membersNode.position.line, pool.path("communities"),
                                "\(members.count) communities; a pool has at most \(ConfigLoader.maximumPoolSize) (selections letter them A to Z)")
            }
            for (index, memberNode) in members.enumerated() {
                let path = "\(poolPath).communities[\(index)]"
                guard let community = readCommunity(memberNode, path, pool: poolName ?? "", commentDecoding: commentDecoding) else { continue }
                if let first = communityLines[community.name] {
                    problems.report(configPath, nameLine(memberNode), fieldPath(path, "name"),
                                    "duplicate community name \"\(community.name)\" (first on line \(first)); names must be unique across all pools")
                    continue
                }
                communityLines[community.name] = nameLine(memberNode)
                communities.append(community)
            }
        }
        return communities
    }

    /// The line of a community object's "name" (where a duplicate is reported).
    private func nameLine(_ node: JSONNode) -> Int {
        guard case .object(let members) = node.value, let name = members.first(where: { $0.key == "name" }) else {
            return node.position.line
        }
        return name.keyPosition.line
    }

    private mutating func readCommunity(_ node: JSONNode, _ path: String, pool: String, commentDecoding: Decoding) -> CommunitySpec? {
        guard let fields = reader.object(node, path, allowed: ConfigLoader.communityFields) else { return nil }
        let name = fields.requiredText("name")
        if let name { declaredCommunities.insert(name) }
        if let name, !Identifier.isValid(name) {
            problems.report(configPath, fields.node("name")!.position.line, fields.path("name"), "invalid community name \"\(name)\"; use \(Identifier.rule)")
        }
        let description = fields.requiredText("description")
        let label = fields.optionalText("label")
        let systemPrompt = fields.requiredText("system_prompt")
        var profile = ""
        if let profileNode = fields.node("profile"), let relative = reader.text(profileNode, fields.path("profile")) {
            profile = readProfile(relative, line: profileNode.position.line, field: fields.path("profile")) ?? ""
        }
        var model: ModelSpec? = .embedded
        if let node = fields.node("model") { model = readModel(node, fields.path("model")) }
        let decoding = fields.node("decoding").map { readDecoding($0, fields.path("decoding"), over: commentDecoding) } ?? commentDecoding
        guard let name, let description, let systemPrompt, let model else { return nil }
        return CommunitySpec(name: name, pool: pool, description: description, label: label, systemPrompt: systemPrompt,
                             profile: profile, model: model, decoding: decoding)
    }

    private mutating func readProfile(_ relative: String, line: Int, field: String) -> String? {
        guard let file = folder.read(relative) else {
            problems.report(configPath, line, field, InputFolder.describe("profile file", folder.displayPath(relative), folder.problem(relative)))
            return nil
        }
        fileHashes[file.key] = SHA256.hex(file.bytes)
        guard let text = String(validating: file.bytes, as: UTF8.self) else {
            problems.report(configPath, line, field, "profile file \(file.displayPath) is not valid UTF-8 text")
            return nil
        }
        let trimmed = text.trimmingSurroundingWhitespace
        if trimmed.isEmpty {
            problems.report(configPath, line, field, "profile file \(file.displayPath) is empty")
            return nil
        }
        return trimmed
    }

    private func readModel(_ node: JSONNode, _ path: String) -> ModelSpec? {
        guard let fields = reader.object(node, path, allowed: ConfigLoader.modelFields) else { return nil }
        guard let backend = fields.requiredText("backend") else { return nil }
        let logprobs = fields.node("logprobs").flatMap { reader.bool($0, fields.path("logprobs")) }
        switch backend {
        case "embedded":
            for key in ["base_url", "api_key_env", "max_in_flight", "server", "endpoint", "timeout", "retry_budget", "on_server_change"] {
                if let member = fields.members[key] {
                    problems.report(configPath, member.keyPosition.line, fields.path(key), "applies only to the openai backend")
                }
            }
            return ModelSpec(backend: backend, model: fields.optionalText("model"), logprobs: logprobs)
        case "openai":
            var valid = true
            let baseURL = fields.requiredText("base_url")
            if let baseURL, !(baseURL.hasPrefix("http://") || baseURL.hasPrefix("https://")) {
                problems.report(configPath, fields.node("base_url")!.position.line, fields.path("base_url"),
                                "\"\(baseURL)\" is not an http:// or https:// URL")
                valid = false
            } else if let baseURL, ServedCredentials.hasUserInfo(baseURL) {
                problems.report(configPath, fields.node("base_url")!.position.line, fields.path("base_url"), ServedCredentials.userInfoRefusal)
                valid = false
            }
            let model = fields.required("model", "the openai backend needs the server's model name").flatMap { reader.text($0, fields.path("model")) }
            let apiKeyEnv = fields.optionalText("api_key_env")
            if let apiKeyEnv, !isEnvironmentName(apiKeyEnv) {
                problems.report(configPath, fields.node("api_key_env")!.position.line, fields.path("api_key_env"),
                                "\"\(apiKeyEnv)\" is not an environment variable name (letters, digits and '_', not starting with a digit); the key itself belongs in the environment, not in the config")
                valid = false
            }
            var maxInFlight = ModelSpec.defaultMaxInFlight
            if let node = fields.node("max_in_flight") {
                if let value = reader.integer(node, fields.path("max_in_flight"), in: 1...1024) { maxInFlight = value } else { valid = false }
            }
            let served = readServedFields(fields)
            guard valid, let served, let baseURL, let model else { return nil }
            return ModelSpec(backend: backend, baseURL: baseURL, model: model, apiKeyEnv: apiKeyEnv, maxInFlight: maxInFlight,
                             logprobs: logprobs, server: served.server, endpoint: served.endpoint, timeout: served.timeout,
                             retryBudget: served.retryBudget, onServerChange: served.onServerChange)
        default:
            problems.report(configPath, fields.node("backend")!.position.line, fields.path("backend"),
                            "unknown backend \"\(backend)\"; expected one of: \(ModelSpec.backends.joined(separator: ", "))")
            return nil
        }
    }

    /// The served model's optional fields: server kind, endpoint, deadline, retry budget and
    /// server-change policy; nil when any is invalid (each problem reported).
    private func readServedFields(_ fields: ObjectFields)
        -> (server: String?, endpoint: String?, timeout: Double?, retryBudget: Int?, onServerChange: String?)? {
        var valid = true
        func choice(_ key: String, _ allowed: [String]) -> String? {
            guard let node = fields.node(key), let value = reader.text(node, fields.path(key)) else {
                if fields.has(key) { valid = false }
                return nil
            }
            guard allowed.contains(value) else {
                problems.report(configPath, node.position.line, fields.path(key),
                                "\"\(value)\" is not one of: \(allowed.joined(separator: ", "))")
                valid = false
                return nil
            }
            return value
        }
        let server = choice("server", ServerKind.allCases.map(\.rawValue))
        let endpoint = choice("endpoint", ["chat", "completions"])
        let onServerChange = choice("on_server_change", OpenAICompatibleModel.ServerChangePolicy.allCases.map(\.rawValue))
        var timeout: Double?
        if let node = fields.node("timeout") {
            if let value = reader.number(node, fields.path("timeout")) {
                if value > 0 && value <= 86_400 {
                    timeout = value
                } else {
                    problems.report(configPath, node.position.line, fields.path("timeout"),
                                    "\(value) is not a deadline in seconds; expected a number above 0 and at most 86400")
                    valid = false
                }
            } else { valid = false }
        }
        var retryBudget: Int?
        if let node = fields.node("retry_budget") {
            if let value = reader.integer(node, fields.path("retry_budget"), in: 0...1_000_000) { retryBudget = value } else { valid = false }
        }
        guard valid else { return nil }
        return (server, endpoint, timeout, retryBudget, onServerChange)
    }

    private func isEnvironmentName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, !("0"..."9").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_") }
    }

    /// Reads a decoding block; fields given replace those of `base`, the rest are kept.
    private func readDecoding(_ node: JSONNode, _ path: String, over base: Decoding) -> Decoding {
        var decoding = base
        guard let fields = reader.object(node, path, allowed: ConfigLoader.decodingFields) else { return decoding }
        if let node = fields.node("temperature"), let value = reader.number(node, fields.path("temperature")) {
            if value < 0 || value > 10 {
                problems.report(configPath, node.position.line, fields.path("temperature"), "\(JSON.format(value)) is out of range; expected 0 (greedy) to 10")
            } else {
                decoding.temperature = value
            }
        }
        if let node = fields.node("top_p"), let value = reader.number(node, fields.path("top_p")) {
            if value <= 0 || value > 1 {
                problems.report(configPath, node.position.line, fields.path("top_p"), "\(JSON.format(value)) is out of range; expected more than 0 and at most 1")
            } else {
                decoding.topP = value
            }
        }
        if let node = fields.node("top_k"), let value = reader.integer(node, fields.path("top_k"), in: 0...Int.max) {
            decoding.topK = value
        }
        if let node = fields.node("max_tokens"), let value = reader.integer(node, fields.path("max_tokens"), in: 1...Int.max) {
            decoding.maxTokens = value
        }
        return decoding
    }

    private func readMethods(_ node: JSONNode) -> [Method] {
        guard let elements = reader.array(node, "methods") else { return Method.allCases }
        if elements.isEmpty {
            problems.report(configPath, node.position.line, "methods", "no methods; list at least one of: \(Method.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var methods: [Method] = []
        for (index, element) in elements.enumerated() {
            let path = "methods[\(index)]"
            guard let name = reader.text(element, path) else { continue }
            guard let method = Method(rawValue: name) else {
                problems.report(configPath, element.position.line, path,
                                "unknown method \"\(name)\"; expected one of: \(Method.allCases.map(\.rawValue).joined(separator: ", "))")
                continue
            }
            if methods.contains(method) {
                problems.report(configPath, element.position.line, path, "method \"\(name)\" listed twice")
                continue
            }
            methods.append(method)
        }
        return methods
    }

    private func readPopulations(_ node: JSONNode) -> [Population] {
        guard let members = reader.map(node, "populations") else { return [] }
        var populations: [Population] = []
        for member in members {
            let path = fieldPath("populations", member.key)
            if member.key.trimmingSurroundingWhitespace.isEmpty {
                problems.report(configPath, member.keyPosition.line, path, "a population needs a name")
                continue
            }
            guard let (label, weightsNode, weightsPath) = populationParts(member.value, path),
                  let weightMembers = reader.map(weightsNode, weightsPath) else { continue }
            var weights: [String: Double] = [:]
            for weight in weightMembers {
                let weightPath = fieldPath(weightsPath, weight.key)
                guard let value = reader.number(weight.value, weightPath) else { continue }
                if !declaredCommunities.contains(weight.key) {
                    problems.report(configPath, weight.keyPosition.line, weightPath, "unknown community \"\(weight.key)\"")
                } else if value < 0 {
                    problems.report(configPath, weight.value.position.line, weightPath, "negative weight \(JSON.format(value)); weights must be 0 or more")
                } else {
                    weights[weight.key] = value
                }
            }
            populations.append(Population(name: member.key, label: label, weights: weights))
        }
        return populations
    }

    /// A population is `{"label": "Japan", "weights": {"asia": 2}}` (both optional), or, as
    /// before labels existed, the weights alone: `{"asia": 2}`. The two are told apart by
    /// their values (a label is text and the weights an object, where a weight is a number),
    /// so a community that happens to be called "label" or "weights" still works.
    private func populationParts(_ node: JSONNode, _ path: String) -> (label: String?, weights: JSONNode, path: String)? {
        guard case .object(let members) = node.value else {
            reader.typeMismatch(node, path, expected: "an object")
            return nil
        }
        let labelled = members.contains { member in
            switch (member.key, member.value.value) {
            case ("label", .string), ("weights", .object): true
            default: false
            }
        }
        guard labelled else { return (nil, node, path) }
        guard let fields = reader.object(node, path, allowed: ConfigLoader.populationFields) else { return nil }
        let label = fields.optionalText("label")
        let weightsPath = fields.path("weights")
        guard let weights = fields.node("weights") else {
            return (label, JSONNode(value: .object([]), position: node.position), weightsPath)
        }
        return (label, weights, weightsPath)
    }

    private func readDebias(_ node: JSONNode) -> DebiasSettings {
        var settings = DebiasSettings()
        guard let fields = reader.object(node, "debias", allowed: ConfigLoader.debiasFields) else { return settings }
        if let node = fields.node("rotations") {
            let expected = "expected \"all\" (every rotation), \"none\" (the configuration's order only) or a whole number of rotations from 1"
            switch node.value {
            case .string("all"): settings.rotations = .all
            case .string("none"): settings.rotations = .none
            case .number:
                if let count = reader.integer(node, fields.path("rotations"), in: 1...Int.max) { settings.rotations = .count(count) }
            case .string(let other):
                problems.report(configPath, node.position.line, fields.path("rotations"), "unknown setting \"\(other)\"; \(expected)")
            default:
                reader.typeMismatch(node, fields.path("rotations"), expected: "\"all\", \"none\" or a whole number")
            }
        }
        if let name = fields.optionalText("passages") {
            if let passages = DebiasSettings.Passages(rawValue: name) {
                settings.passages = passages
            } else {
                problems.report(configPath, fields.node("passages")!.position.line, fields.path("passages"),
                                "unknown passage order \"\(name)\"; expected one of: \(DebiasSettings.Passages.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        return settings
    }

    /// Multiple-choice answers are read from next-token log-probabilities; a base model
    /// without them could only guess, so such a config is refused before any call.
    private func checkChoicesCanBeRead(_ config: RunConfig, items: [Item], baseModelNode: JSONNode?) {
        guard !config.baseModel.givesLogprobs else { return }
        let choices = items.filter { item in !item.options.isEmpty && config.methods.contains { Stages.applies($0, to: item) } }
        guard let first = choices.first else { return }
        problems.report(configPath, baseModelNode?.position.line ?? 0, "base_model.logprobs",
                        "the base model gives no log-probabilities, but \(choices.count) multiple-choice item(s) (first: \(first.id)) are answered from them; use a backend that returns log-probabilities or leave out the multiple-choice items")
    }

    private func readAudit(_ node: JSONNode) -> AuditSettings {
        guard let fields = reader.object(node, "audit", allowed: ["scorer", "judge_model", "thresholds"]) else { return AuditSettings() }
        var scorer = AuditSettings.Scorer.embedding
        if let name = fields.optionalText("scorer") {
            if let known = AuditSettings.Scorer(rawValue: name) {
                scorer = known
            } else {
                problems.report(configPath, fields.node("scorer")!.position.line, fields.path("scorer"),
                                "unknown scorer \"\(name)\"; expected one of: \(AuditSettings.Scorer.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        let judgeModel = fields.node("judge_model").flatMap { readModel($0, fields.path("judge_model")) }
        if judgeModel != nil, scorer != .judge, let member = fields.members["judge_model"] {
            problems.report(configPath, member.keyPosition.line, fields.path("judge_model"), "applies only to the judge scorer")
        }
        var settings = AuditSettings(scorer: scorer, judgeModel: judgeModel)
        if let node = fields.node("thresholds"),
           let thresholds = reader.object(node, fields.path("thresholds"), allowed: AuditSettings.Thresholds.names) {
            var values = settings.thresholds.values
            for (index, name) in AuditSettings.Thresholds.names.enumerated() {
                guard let node = thresholds.node(name), let value = reader.number(node, thresholds.path(name)) else { continue }
                if (0...1).contains(value) {
                    values[index] = value
                } else {
                    problems.report(configPath, node.position.line, thresholds.path(name), "\(JSON.format(value)) is out of range; expected 0 to 1")
                }
            }
            settings.thresholds = AuditSettings.Thresholds(values: values)
        }
        return settings
    }

    private func readQuestionSources(_ node: JSONNode) -> [QuestionSource] {
        guard let elements = reader.array(node, "questions") else { return [] }
        if elements.isEmpty { problems.report(configPath, node.position.line, "questions", "no question files; list at least one {\"file\", \"pool\"}") }
        var sources: [QuestionSource] = []
        var fileLines: [String: Int] = [:]
        for (index, element) in elements.enumerated() {
            let path = "questions[\(index)]"
            guard let fields = reader.object(element, path, allowed: ConfigLoader.questionFields) else { continue }
            let file = fields.requiredText("file")
            let pool = fields.requiredText("pool")
            if let pool, !declaredPools.contains(pool) {
                let known = declaredPools.sorted().joined(separator: ", ")
                problems.report(configPath, fields.node("pool")!.position.line, fields.path("pool"),
                                "unknown pool \"\(pool)\"" + (known.isEmpty ? "" : "; the config defines: \(known)"))
            }
            guard let file, let pool else { continue }
            let key = InputFolder.normalise(file)
            let line = fields.node("file")!.position.line
            if let first = fileLines[key] {
                problems.report(configPath, line, fields.path("file"), "question file \"\(file)\" listed twice (first on line \(first))")
                continue
            }
            fileLines[key] = line
            if let problem = folder.problem(file) {
                problems.report(configPath, line, fields.path("file"), InputFolder.describe("question file", folder.displayPath(file), problem))
            }
            sources.append(QuestionSource(file: key, pool: pool))
        }
        return sources
    }
}
