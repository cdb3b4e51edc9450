import Foundation

/// What a server says it serves, as far as the archive is concerned: part of a served
/// model's `ModelIdentity`, hence of every archive key.
///
/// The configured model name and URL say what was *asked* for; `llama-server` ignores the
/// request's `model` and answers with whatever file it loaded. So the identity also holds
/// the server's own description of the model (its `/v1/models` entry, without the volatile
/// `created` time) and the wire dialect the requests are written in. New weights under a
/// new file name, size or parameter count then make new keys instead of replaying old
/// answers. Per-reply `model` and `system_fingerprint` are stored with each answer and must
/// stay the same during a run (see `ServedModelChanged`).
public struct ServedIdentity: Codable, Hashable, Sendable {
    /// The server kind whose parameter rules shaped the requests (`ServerKind.rawValue`).
    public var kind: String
    /// "chat" (`/v1/chat/completions`) or "completions" (`/v1/completions`).
    public var endpoint: String
    /// The canonical JSON of the server's `/v1/models` entry for this model, or "" when the
    /// server has no such listing (then only the per-reply checks guard the identity).
    public var listing: String

    public init(kind: String, endpoint: String, listing: String) {
        self.kind = kind
        self.endpoint = endpoint
        self.listing = listing
    }

    var json: JSON {
        .object(["kind": .string(kind), "endpoint": .string(endpoint), "listing": .string(listing)])
    }

    /// Reads the `served` member of an archived request's canonical JSON.
    static func read(fromRequestJSON text: String) -> ServedIdentity? {
        struct Material: Decodable {
            struct Identity: Decodable { var served: ServedIdentity? }
            var identity: Identity
        }
        return (try? JSONDecoder().decode(Material.self, from: Data(text.utf8)))?.identity.served
    }
}

/// The server behind a URL changed while it was in use, or (with `on_server_change:
/// "error"`) differs from what the archive recorded for the same configured model.
public struct ServedModelChanged: Error, CustomStringConvertible, Sendable {
    public var endpoint: String
    public var before: String
    public var now: String
    /// What the user can do about it.
    public var remedy = "run again to continue under the new identity, or restore the previous server"

    public var description: String {
        "\(endpoint): the served model changed: it was \(before), it is now \(now); answers from the two must not be mixed (\(remedy))"
    }
}
