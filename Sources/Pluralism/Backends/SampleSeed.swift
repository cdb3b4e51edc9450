extension ModelRequest {
    /// The seed a backend samples this request with.
    ///
    /// Repeated samples of one request differ only in `sampleIndex`; with one shared seed
    /// they would all draw the same tokens. Sample 0 uses the configured seed unchanged (so
    /// a server log shows the seed the user wrote); sample n > 0 uses a SplitMix64 mix of
    /// the seed and n, the same on every machine.
    public var sampleSeed: UInt64 {
        guard sampleIndex != 0 else { return decoding.seed }
        return splitMix64(decoding.seed ^ splitMix64(UInt64(bitPattern: Int64(sampleIndex))))
    }
}

/// One step of SplitMix64 (Steele, Lea, Flood 2014): a bijective 64-bit mix whose outputs
/// for nearby inputs look unrelated.
func splitMix64(_ value: UInt64) -> UInt64 {
    var z = value &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}
