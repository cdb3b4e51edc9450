import ContentHash

/// Text shaping shared by the importers: ids from source keys, and keys from free text.
enum ImportText {
    /// `["goqa", "3fa2…", "United States"]` → `goqa-3fa2…-United-States`: each part keeps
    /// letters, digits, `.`, `_` and `-`, other runs become one `-`. Longer than an id may be,
    /// it keeps its first 100 characters and ends in 16 hex digits of the whole's sha256.
    static func identifier(_ parts: [String]) -> String {
        let joined = parts.map(slug).filter { !$0.isEmpty }.joined(separator: "-")
        guard joined.utf8.count > Identifier.maximumLength else { return joined }
        return String(joined.prefix(100)) + "-" + String(SHA256.hex(joined).prefix(16))
    }

    /// The characters ids allow, other runs as one `-`, no `-` at either end.
    static func slug(_ text: String) -> String {
        var out = ""
        var pendingDash = false
        for byte in text.utf8 {
            let allowed = (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
            if allowed {
                if pendingDash, !out.isEmpty { out.append("-") }
                pendingDash = false
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                pendingDash = true
            }
        }
        while out.hasPrefix(".") || out.hasPrefix("_") || out.hasPrefix("-") { out.removeFirst() }
        return out
    }

    /// A lower-case population name for a label: `United States` → `united-states`.
    static func populationName(_ label: String) -> String {
        let name = slug(label).lowercased()
        return name.isEmpty ? "p-" + String(SHA256.hex(label).prefix(12)) : name
    }

    /// The first `length` hex digits of the text's sha256: a key for sources whose rows have
    /// no key column (the text is the key).
    static func digest(_ text: String, length: Int = 12) -> String {
        String(SHA256.hex(text).prefix(length))
    }

    /// FNV-1a over the UTF-8 bytes, then SplitMix64: a 64-bit key the same on every machine
    /// (Swift's `hashValue` is seeded per process).
    static func hash64(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return splitMix64(hash)
    }
}
