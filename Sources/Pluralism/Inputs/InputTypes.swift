/// One problem in the inputs, located precisely enough to fix without searching: the file as
/// the user named it (joined to the config's folder), the 1-based line, and the field path
/// inside the record (`pools[0].communities[2].profile`, `options`, `values[1].explanation`).
/// One problem in the inputs, located precisely enough to fix without searching: the file as
/// the user named it (joined to the config's folder), the 1-based line (0 when the problem is
/// the file as a whole), and the field path inside the record (`pools[0].communities[2].profile`,
/// `options`, `values[1].explanation`; empty for malformed JSON, which has a column instead).
public struct InputError: Error, CustomStringConvertible, Hashable, Sendable {
    public var file: String
    public var line: Int
    public var field: String
    public var message: String
    /// Set for malformed JSON, where the position inside the line matters.
    public var column: Int?

    public init(file: String, line: Int, field: String, message: String, column: Int? = nil) {
        self.file = file
        self.line = line
        self.field = field
        self.message = message
        self.column = column
    }

    /// `file:line: field: message` (or `file:line:column: message`), the shape compilers use,
    /// so editors and terminals can jump to it.
    public var description: String {
        var place = file
        if line > 0 { place += ":\(line)" }
        if let column, line > 0 { place += ":\(column)" }
        return field.isEmpty ? "\(place): \(message)" : "\(place): \(field): \(message)"
    }
}

/// Every problem validation found. Inputs are checked completely before any model call, and
/// all problems are reported at once, so a user fixes a config in one pass instead of one
/// error per attempt.
public struct InputErrors: Error, CustomStringConvertible, Sendable {
    public var errors: [InputError]

    public init(errors: [InputError]) {
        self.errors = errors
    }

    public var description: String {
        let count = errors.count == 1 ? "1 problem" : "\(errors.count) problems"
        return (["invalid inputs (\(count)):"] + errors.map(\.description)).joined(separator: "\n")
    }
}

/// Where a model's answers come from. The embedded engine runs a GGUF file in-process; the
/// OpenAI-compatible backend talks to any server speaking `/v1/chat/completions`.
public struct ModelSpec: Codable, Hashable, Sendable {
    /// "embedded" or "openai".
    public var backend: String
    /// The server's base URL (openai only), e.g. `http://localhost:8000/v1`.
    public var baseURL: String?
    /// The server's model name (openai); for the embedded engine, a GGUF file name in the
    /// model store, nil meaning the store's default model.
    public var model: String?
    /// The name of the environment variable holding the API key (openai only). The key
    /// itself never appears in a config, so configs can be shared and committed.
    public var apiKeyEnv: String?
    /// Requests kept in flight at once (openai; filled with 8 when omitted).
    public var maxInFlight: Int?
    /// The server kind (openai): "llama.cpp", "vllm", "ollama", "openai" or "generic"; nil
    /// means detected from the server's `/v1/models`. Decides how parameters are sent.
    public var server: String?
    /// "chat" (default) or "completions" for a base model (openai).
    public var endpoint: String?
    /// Seconds each attempt of a request may take, start to last byte (openai; default 120).
    public var timeout: Double?
    /// Retries the whole run may spend on this model (openai; default 100).
    public var retryBudget: Int?
    /// "new_identity" (default) or "error": what a server that now says it serves something
    /// else than the archive recorded means (openai).
    public var onServerChange: String?
    /// False for a server that returns no log-probabilities: selections are then parsed from
    /// generated text, and multiple-choice answers cannot be read. Nil means true (both
    /// backends give them).
    public var logprobs: Bool?

    public static let backends = ["embedded", "openai"]
    /// The in-flight bound an openai model gets when the config names none.
    public static let defaultMaxInFlight = 8
    /// The per-attempt deadline an openai model gets when the config names none.
    public static let defaultTimeout = 120.0
    /// The embedded engine with its default model: what a fresh clone runs.
    public static let embedded = ModelSpec(backend: "embedded")

    public init(backend: String, baseURL: String? = nil, model: String? = nil, apiKeyEnv: String? = nil, maxInFlight: Int? = nil,
                logprobs: Bool? = nil, server: String? = nil, endpoint: String? = nil, timeout: Double? = nil,
                retryBudget: Int? = nil, onServerChange: String? = nil) {
        self.backend = backend
        self.baseURL = baseURL
        self.model = model
        self.apiKeyEnv = apiKeyEnv
        self.maxInFlight = maxInFlight
        self.logprobs = logprobs
        self.server = server
        self.endpoint = endpoint
        self.timeout = timeout
        self.retryBudget = retryBudget
        self.onServerChange = onServerChange
    }

    /// Whether the model's next-token log-probabilities can be read.
    public var givesLogprobs: Bool { logprobs ?? true }

    enum CodingKeys: String, CodingKey {
        case backend
        case baseURL = "base_url"
        case model
        case apiKeyEnv = "api_key_env"
        case maxInFlight = "max_in_flight"
        case logprobs
        case server
        case endpoint
        case timeout
        case retryBudget = "retry_budget"
        case onServerChange = "on_server_change"
    }

    /// Canonical JSON (sorted keys, absent fields omitted): stable text for the corpus.
    public var canonicalJSON: String { json.canonical }

    var json: JSON {
        guard case .object(var fields) = identityJSON else { return identityJSON }
        if let apiKeyEnv { fields["api_key_env"] = .string(apiKeyEnv) }
        if let maxInFlight { fields["max_in_flight"] = .integer(Int64(maxInFlight)) }
        if let timeout { fields["timeout"] = .double(timeout) }
        if let retryBudget { fields["retry_budget"] = .integer(Int64(retryBudget)) }
        if let onServerChange { fields["on_server_change"] = .string(onServerChange) }
        return .object(fields)
    }

    /// The fields that can change an answer; the run id is made from these alone, so the
    /// knobs of throughput, patience and credentials (`max_in_flight`, `timeout`,
    /// `retry_budget`, `on_server_change`, `api_key_env`) can change without making the same
    /// study a new run. The manifest (`json`) still records them.
    var identityJSON: JSON {
        var fields: [String: JSON] = ["backend": .string(backend)]
        if let baseURL { fields["base_url"] = .string(baseURL) }
        if let model { fields["model"] = .string(model) }
        if let logprobs { fields["logprobs"] = .bool(logprobs) }
        if let server { fields["server"] = .string(server) }
        if let endpoint { fields["endpoint"] = .string(endpoint) }
        return .object(fields)
    }
}

/// A community LM: a model plus the words that make it speak for one community.
public struct CommunitySpec: Sendable, Hashable {
    /// Unique across all pools; comments are stored under it.
    public var name: String
    /// The pool (`perspective`, `culture`, …) whose question files this community answers.
    public var pool: String
    /// One line about who the community is; the MoE baseline picks an expert from these alone.
    public var description: String
    /// The name prompts show for the community (nil: prompts show the description alone; a
    /// community's `name` is an identifier and never reaches a prompt).
    public var label: String?
    public var systemPrompt: String
    /// The profile document's text (surrounding whitespace trimmed), empty when the config
    /// names none. Placed in the community LM's context: small models need more than a
    /// one-line persona to speak differently per community.
    public var profile: String
    public var model: ModelSpec
    /// The run's comment decoding with this community's overrides applied.
    public var decoding: Decoding

    public init(name: String, pool: String, description: String, label: String? = nil, systemPrompt: String, profile: String = "",
                model: ModelSpec = .embedded, decoding: Decoding) {
        self.name = name
        self.label = label
        self.pool = pool
        self.description = description
        self.systemPrompt = systemPrompt
        self.profile = profile
        self.model = model
        self.decoding = decoding
    }
}

/// What a run can synthesize: the three pluralism modes and the three baselines.
public enum Method: String, CaseIterable, Codable, Sendable {
    case overton, steerable, distributional, vanilla, prompting, moe
}

/// A value, right or duty an Overton answer should cover, with the explanation the
/// coverage audit compares sentences against.
public struct ReferenceValue: Codable, Hashable, Sendable {
    public var value: String
    public var explanation: String

    public init(value: String, explanation: String) {
        self.value = value
        self.explanation = explanation
    }
}

/// Which pluralism mode an item is written for.
public enum ItemMode: String, Codable, Sendable, CaseIterable {
    case overton, steerable, distributional
}

/// One question, normalised: whatever spelling the file used, stages see these fields.
public struct Item: Sendable, Hashable {
    /// Stable across runs and files; letters, digits, `.`, `_`, `-`.
    public var id: String
    public var mode: ItemMode
    /// The pool answering the file this item came from.
    public var pool: String
    /// The question file, relative to the config's folder (the same key as `fileHashes`),
    /// so the corpus does not depend on where the run was started from.
    public var sourceFile: String
    /// 1-based line in `sourceFile`.
    public var line: Int
    /// The situation or question.
    public var text: String
    /// Overton reference values (may be empty).
    public var values: [ReferenceValue]
    /// Steerable: the value, right, duty or demographic attribute to steer towards.
    public var attribute: String?
    /// Multiple-choice options (steerable optional, distributional 2…26), lettered A, B, … .
    public var options: [String]
    /// Steerable gold option, 0-based.
    public var gold: Int?
    /// Distributional: the population whose answers the item is about.
    public var population: String?
    /// Distributional: the population's answer distribution, one probability per option.
    public var goldDistribution: [Double]?

    public init(id: String, mode: ItemMode, pool: String, sourceFile: String, line: Int, text: String,
                values: [ReferenceValue] = [], attribute: String? = nil, options: [String] = [], gold: Int? = nil,
                population: String? = nil, goldDistribution: [Double]? = nil) {
        self.id = id
        self.mode = mode
        self.pool = pool
        self.sourceFile = sourceFile
        self.line = line
        self.text = text
        self.values = values
        self.attribute = attribute
        self.options = options
        self.gold = gold
        self.population = population
        self.goldDistribution = goldDistribution
    }

    /// Steerable items steer towards a value (a situation judged as supporting or opposing it:
    /// the options are supports / opposes / either, or there are none) or towards a
    /// demographic perspective (a survey question answered as a group would). Prompts ask
    /// each in its own words.
    public var steersByValue: Bool {
        mode == .steerable && (options.isEmpty || options.map { $0.lowercased() } == ["supports", "opposes", "either"])
    }

    /// Canonical JSON of the item's content (sorted keys, no whitespace, empty and absent
    /// fields omitted). Where the item came from (pool, file, line) is not content: moving an
    /// item to another file leaves this, and its hash, unchanged.
    public var contentJSON: String {
        var fields: [String: JSON] = ["id": .string(id), "mode": .string(mode.rawValue), "text": .string(text)]
        if !values.isEmpty {
            fields["values"] = .array(values.map { .object(["value": .string($0.value), "explanation": .string($0.explanation)]) })
        }
        if let attribute { fields["attribute"] = .string(attribute) }
        if !options.isEmpty { fields["options"] = .array(options.map(JSON.string)) }
        if let gold { fields["gold"] = .integer(Int64(gold)) }
        if let population { fields["population"] = .string(population) }
        if let goldDistribution { fields["gold_distribution"] = .array(goldDistribution.map(JSON.double)) }
        return JSON.object(fields).canonical
    }
}

/// Whose answers a distributional item is about, and how much each community's view counts
/// when the per-community distributions are mixed.
public struct Population: Sendable, Hashable {
    public var name: String
    /// What prompts call the population ("Japan"); nil when prompts should not name it (a
    /// population that is not a group of people, such as an ambiguity class). The `name` is
    /// an identifier and never reaches a prompt.
    public var label: String?
    /// Community → weight; communities not listed weigh 1 (so `[:]` is the paper's uniform mix).
    public var weights: [String: Double]

    public init(name: String, label: String? = nil, weights: [String: Double] = [:]) {
        self.name = name
        self.label = label
        self.weights = weights
    }

    /// The weight a community's distribution gets in this population's mix.
    public func weight(of community: String) -> Double {
        weights[community] ?? 1
    }
}

/// A question file and the pool of communities that answers its items.
public struct QuestionSource: Sendable, Hashable {
    /// Relative to the config's folder.
    public var file: String
    public var pool: String

    public init(file: String, pool: String) {
        self.file = file
        self.pool = pool
    }
}

/// A validated run configuration with every default filled in.
public struct RunConfig: Sendable {
    public var name: String
    public var seed: UInt64
    /// All pools' communities, in config order.
    public var communities: [CommunitySpec]
    public var baseModel: ModelSpec
    public var methods: [Method]
    /// Default temperature 1.0, top-p 0.9, 200 tokens: comments are sampled, as in the paper.
    public var commentDecoding: Decoding
    /// Default temperature 0.1, top-p 1, 200 tokens: syntheses stay close to greedy.
    public var baseDecoding: Decoding
    /// Alternatives read at the answer position for distributional answers (default 20).
    public var distributionTopLogprobs: Int
    public var populations: [Population]
    /// Question files, in config order.
    public var questions: [QuestionSource]
    /// How the run is audited; not part of the run's identity (see `AuditSettings`).
    public var audit: AuditSettings
    /// How candidates and passages are ordered in prompts (default: every rotation, shuffled
    /// passages).
    public var debias: DebiasSettings

    public static let defaultCommentDecoding = Decoding(temperature: 1.0, topP: 0.9, maxTokens: 200, seed: 0)
    public static let defaultBaseDecoding = Decoding(temperature: 0.1, topP: 1.0, maxTokens: 200, seed: 0)
    public static let defaultDistributionTopLogprobs = 20

    public init(name: String, seed: UInt64, communities: [CommunitySpec], baseModel: ModelSpec = .embedded,
                methods: [Method] = Method.allCases, commentDecoding: Decoding, baseDecoding: Decoding,
                distributionTopLogprobs: Int = RunConfig.defaultDistributionTopLogprobs,
                populations: [Population] = [], questions: [QuestionSource] = [], audit: AuditSettings = AuditSettings(),
                debias: DebiasSettings = DebiasSettings()) {
        self.name = name
        self.seed = seed
        self.communities = communities
        self.baseModel = baseModel
        self.methods = methods
        self.commentDecoding = commentDecoding
        self.baseDecoding = baseDecoding
        self.distributionTopLogprobs = distributionTopLogprobs
        self.populations = populations
        self.questions = questions
        self.audit = audit
        self.debias = debias
    }

    /// Pool names in config order.
    public var pools: [String] {
        var seen = Set<String>()
        return communities.map(\.pool).filter { seen.insert($0).inserted }
    }

    /// The communities that answer a pool's items, in config order.
    public func communities(inPool pool: String) -> [CommunitySpec] {
        communities.filter { $0.pool == pool }
    }

    public func population(named name: String) -> Population? {
        populations.first { $0.name == name }
    }

    /// The normalised config as canonical JSON: defaults filled, profile *text* included (so
    /// editing a profile changes it), sorted keys, no whitespace. Stored with each run.
    public var canonicalJSON: String { json(models: \.json) }

    /// The canonical JSON the run id is made from: `canonicalJSON` without the model knobs
    /// that cannot change an answer (see `ModelSpec.identityJSON`). Identical to it for
    /// embedded models.
    public var identityJSON: String { json(models: \.identityJSON) }

    private func json(models: KeyPath<ModelSpec, JSON>) -> String {
        var pools: [JSON] = []
        for pool in self.pools {
            let members: [JSON] = communities(inPool: pool).map { community in
                var fields: [String: JSON] = [
                    "name": .string(community.name),
                    "description": .string(community.description),
                    "system_prompt": .string(community.systemPrompt),
                    "profile": .string(community.profile),
                    "model": community.model[keyPath: models],
                    "decoding": community.decoding.json,
                ]
                if let label = community.label { fields["label"] = .string(label) }
                return .object(fields)
            }
            pools.append(.object(["name": .string(pool), "communities": .array(members)]))
        }
        var populationFields: [String: JSON] = [:]
        for population in populations {
            var fields: [String: JSON] = ["weights": .object(population.weights.mapValues(JSON.double))]
            if let label = population.label { fields["label"] = .string(label) }
            populationFields[population.name] = .object(fields)
        }
        return JSON.object([
            "name": .string(name),
            "seed": .unsigned(seed),
            "pools": .array(pools),
            "base_model": baseModel[keyPath: models],
            "methods": .array(methods.map { .string($0.rawValue) }),
            "decoding": .object(["comment": commentDecoding.json, "base": baseDecoding.json]),
            "distribution_top_logprobs": .integer(Int64(distributionTopLogprobs)),
            "populations": .object(populationFields),
            "questions": .array(questions.map { .object(["file": .string($0.file), "pool": .string($0.pool)]) }),
            "debias": debias.json,
        ]).canonical
    }
}

/// Everything a run reads, validated: the config, every item, and a hash of every file read.
public struct RunInputs: Sendable {
    public var config: RunConfig
    /// All question files' items, in config order then line order.
    public var items: [Item]
    /// sha256 hex of each input file (config, question files, profiles), keyed by its path
    /// relative to the config's folder: the run manifest records exactly what was read.
    public var fileHashes: [String: String]
    /// The config file's key in `fileHashes`, when the inputs were read from a file.
    public var configFile: String?

    public init(config: RunConfig, items: [Item], fileHashes: [String: String], configFile: String? = nil) {
        self.config = config
        self.items = items
        self.fileHashes = fileHashes
        self.configFile = configFile
    }

    /// The run's id. The config file's own bytes are left out: its normalised content is
    /// already in `config.canonicalJSON`, and leaving them out is what lets its `audit` block
    /// (or its layout) change without making the same study a new run.
    public var runID: String {
        var hashes = fileHashes
        if let configFile { hashes[configFile] = nil }
        return RunIdentity.id(config: config, fileHashes: hashes)
    }
}

extension Decoding {
    var json: JSON {
        .object([
            "temperature": .double(temperature),
            "top_p": .double(topP),
            "top_k": .integer(Int64(topK)),
            "max_tokens": .integer(Int64(maxTokens)),
            "seed": .unsigned(seed),
        ])
    }
}
