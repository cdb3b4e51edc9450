import ContentHash
import Foundation
import Inference

/// Turns model specs into language models: every embedded spec naming the same GGUF file
/// shares one loaded `Engine` (the weights are mapped once, and comments from all communities
/// decode in one batch); openai specs become HTTP clients.
public final class ModelLoader: @unchecked Sendable {
    public let store: ModelStore
    public let threads: Int?
    /// Build models that only carry their identity (see `ArchiveOnlyModel`).
    public let replayOnly: Bool
    private let environment: [String: String]
    private let lock = NSLock()
    private var engines: [String: EmbeddedModel] = [:]
    private var encoder: EncoderEmbedder?

    /// - Parameters:
    ///   - modelDirectory: where GGUF files live; nil means `$PLURALISM_MODEL_DIR`, else
    ///     `~/.cache/pluralism/models`.
    ///   - threads: the engine's threads; nil means all cores. Outputs do not depend on it.
    ///   - replayOnly: a replay-only run needs no weights, server or API key: only each
    ///     model's identity, to find its archived answers.
    public init(modelDirectory: String? = nil, threads: Int? = nil, replayOnly: Bool = false,
                environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.store = ModelStore(directory: modelDirectory)
        self.threads = threads
        self.replayOnly = replayOnly
        self.environment = environment
    }

    public func model(for spec: ModelSpec) throws -> any LanguageModel {
        switch spec.backend {
        case "embedded":
            if replayOnly, spec.model == nil || spec.model == ModelStore.defaultModel.fileName {
                return ArchiveOnlyModel(identity: EmbeddedModel.identity(fingerprint: ModelStore.defaultModel.sha256))
            }
            return try embedded(fileName: spec.model)
        case "openai":
            guard let baseURL = spec.baseURL, let model = spec.model else {
                throw ModelUnavailable(message: "an openai model needs base_url and model")
            }
            if ServedCredentials.hasUserInfo(baseURL) {
                throw ModelUnavailable(message: ServedCredentials.userInfoRefusal)
            }
            if replayOnly {
                return ArchiveOnlyModel(identity: ModelIdentity(
                    backend: "openai", baseURL: OpenAICompatibleModel.normalise(baseURL: baseURL), fingerprint: model))
            }
            var apiKey: String?
            if let variable = spec.apiKeyEnv {
                guard let value = environment[variable], !value.isEmpty else {
                    throw ModelUnavailable(message: "the API key variable \(variable) (api_key_env for \(baseURL)) is not set")
                }
                apiKey = value
            }
            if let warning = ServedCredentials.plainTextWarning(baseURL: baseURL, hasKey: apiKey != nil) {
                FileHandle.standardError.write(Data((warning + "\n").utf8))
            }
            return OpenAICompatibleModel(
                baseURL: baseURL, model: model, apiKey: apiKey, maxInFlight: spec.maxInFlight ?? ModelSpec.defaultMaxInFlight,
                timeout: spec.timeout ?? ModelSpec.defaultTimeout, retryBudget: spec.retryBudget ?? OpenAICompatibleModel.defaultRetryBudget,
                server: spec.server.flatMap(ServerKind.init(rawValue:)),
                endpoint: spec.endpoint.flatMap(ServedEndpoint.init(rawValue:)) ?? .chat,
                onServerChange: spec.onServerChange.flatMap(OpenAICompatibleModel.ServerChangePolicy.init(rawValue:)) ?? .newIdentity)
        default:
            throw ModelUnavailable(message: "unknown backend \"\(spec.backend)\"")
        }
    }

    /// What prefix reuse saved in each embedded engine loaded so far (by model file name):
    /// the share of prompt tokens copied from stored prefixes instead of computed.
    public var prefixReuse: [(model: String, tally: PrefixReuseTally)] {
        lock.withLock { engines.sorted { $0.key < $1.key }.map { ($0.key, $0.value.engine.prefixReuse) } }
    }

    /// The audit's sentence embedder: all-MiniLM-L6-v2 from the store, loaded once.
    public func sentenceEmbedder() throws -> any SentenceEmbedder {
        try lock.withLock {
            if let encoder { return encoder }
            let loaded = EncoderEmbedder(encoder: try SentenceEncoder.load(
                store: store, threads: threads ?? ProcessInfo.processInfo.activeProcessorCount))
            encoder = loaded
            return loaded
        }
    }

    /// The default model's fingerprint is the sha256 the store verified when it fetched the
    /// file (hashing 100 MB on every run would cost more than some runs); any other file in
    /// the store is hashed once when loaded.
    private func embedded(fileName: String?) throws -> EmbeddedModel {
        try lock.withLock {
            let key = fileName ?? ModelStore.defaultModel.fileName
            if let loaded = engines[key] { return loaded }
            let path: String
            let fingerprint: String
            if fileName == nil || fileName == ModelStore.defaultModel.fileName {
                path = try store.locate(ModelStore.defaultModel)
                fingerprint = ModelStore.defaultModel.sha256
            } else {
                path = (store.directory as NSString).appendingPathComponent(key)
                guard FileManager.default.fileExists(atPath: path) else {
                    throw ModelUnavailable(message: "model file \(path) not found (put the GGUF file there, or fetch the default with `pluralism models fetch`)")
                }
                fingerprint = try Self.sha256(ofFile: path)
            }
            let model = EmbeddedModel(engine: try Engine(modelPath: path, threads: threads), fingerprint: fingerprint)
            engines[key] = model
            return model
        }
    }

    static func sha256(ofFile path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ModelUnavailable(message: "cannot read \(path)")
        }
        defer { try? handle.close() }
        var hash = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            chunk.withUnsafeBytes { hash.update($0) }
        }
        return hash.finalize().hexString
    }
}

/// A model known only by its identity, for replay-only runs: the archive answers every call,
/// and a miss is reported by `ArchivedModel` before this model could be asked.
public struct ArchiveOnlyModel: LanguageModel {
    public let identity: ModelIdentity

    public init(identity: ModelIdentity) {
        self.identity = identity
    }

    public func respond(to requests: [ModelRequest]) async throws -> [ModelResponse] {
        throw ModelUnavailable(message: "replay-only: \(requests.count) call(s) to \(identity.backend) cannot be answered without the model")
    }

    /// Without a server to ask, a served model takes the identity the archive recorded last.
    public func establishIdentity(archived: ServedIdentity?) async throws -> ModelIdentity {
        guard identity.backend == "openai" else { return identity }
        var adopted = identity
        adopted.served = archived
        return adopted
    }
}

/// A model a config names cannot be used: missing file, missing key, bad spec.
public struct ModelUnavailable: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }

    public init(message: String) {
        self.message = message
    }
}

/// The embedded sentence encoder as the audit's embedder.
struct EncoderEmbedder: SentenceEmbedder {
    let encoder: SentenceEncoder
    var fingerprint: String { encoder.fingerprint }
    func embed(_ texts: [String]) throws -> [[Float]] { encoder.embed(texts).map(\.vector) }
}
