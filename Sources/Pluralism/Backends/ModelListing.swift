/// A server's `GET /v1/models` reply, reduced to what identifies the model it serves.
struct ModelListing {
    /// The canonical JSON of the chosen entry without its `created` time (llama.cpp writes
    /// the current time there), or "" when no entry could be chosen.
    var entry: String
    /// The entry's `owned_by`, which tells the server kind ("llamacpp", "vllm", …).
    var ownedBy: String?

    static let none = ModelListing(entry: "", ownedBy: nil)

    /// Chooses the entry whose `id` is the configured model, or the only entry when there is
    /// one (llama.cpp lists the file it loaded, whatever the config calls it).
    static func read(_ bytes: [UInt8], model: String) -> ModelListing? {
        guard let root = try? JSONParser.parse(bytes: bytes), case .object(let members) = root.value,
              let data = members.first(where: { $0.key == "data" }), case .array(let entries) = data.value.value
        else { return nil }
        let objects = entries.compactMap { node -> [String: JSON]? in
            guard case .object = node.value, case .object(let fields) = plain(node) else { return nil }
            return fields
        }
        let chosen = objects.first { $0["id"] == .string(model) } ?? (objects.count == 1 ? objects[0] : nil)
        guard var fields = chosen else {
            let owner = objects.first.flatMap { if case .string(let owner)? = $0["owned_by"] { owner } else { nil } }
            return ModelListing(entry: "", ownedBy: owner)
        }
        fields["created"] = nil
        let owner: String? = if case .string(let owner)? = fields["owned_by"] { owner } else { nil }
        return ModelListing(entry: JSON.object(fields).canonical, ownedBy: owner)
    }

    /// A parsed value as a canonical one: integers stay exact, other numbers become doubles.
    private static func plain(_ node: JSONNode) -> JSON {
        switch node.value {
        case .null: return .null
        case .bool(let value): return .bool(value)
        case .number(let literal):
            if let integer = Int64(literal) { return .integer(integer) }
            if let double = Double(literal), double.isFinite { return .double(double) }
            return .string(literal)
        case .string(let value): return .string(value)
        case .array(let nodes): return .array(nodes.map(plain))
        case .object(let members):
            var fields: [String: JSON] = [:]
            for member in members { fields[member.key] = plain(member.value) }
            return .object(fields)
        }
    }
}
