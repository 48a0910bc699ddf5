/// xoshiro256** seeded through splitmix64: fast, and the same numbers on every machine,
/// which is what makes `simulate` byte-reproducible. Streams are keyed by integers
/// (a frame's run/camcol/field, a sky cell's indices) so that each part of the sky is
/// the same whatever else is simulated.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var s0, s1, s2, s3: UInt64
    private var spareGaussian: Double?

    public init(seed: UInt64, stream: [Int] = []) {
        var x = seed
        for key in stream { x = Self.splitmix(&x) ^ UInt64(bitPattern: Int64(key)) &* 0x9E37_79B9_7F4A_7C15 }
        s0 = Self.splitmix(&x); s1 = Self.splitmix(&x); s2 = Self.splitmix(&x); s3 = Self.splitmix(&x)
    }

    private static func splitmix(_ x: inout UInt64) -> UInt64 {
        x &+= 0x9E37_79B9_7F4A_7C15
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// Uniform in [0, 1).
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    public mutating func uniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * uniform() }

    /// Standard normal, by the Box–Muller transform (pairs, the second kept for the next call).
    public mutating func gaussian() -> Double {
        if let spare = spareGaussian {
            spareGaussian = nil
            return spare
        }
        var u = uniform()
        while u <= 0 { u = uniform() }
        let radius = (-2 * log(u)).squareRoot()
        let angle = 2 * Double.pi * uniform()
        spareGaussian = radius * sin(angle)
        return radius * cos(angle)
    }

    /// Poisson deviate (Knuth's method; means here are small).
    public mutating func poisson(_ mean: Double) -> Int {
        if mean > 60 { return max(0, Int((mean + mean.squareRoot() * gaussian()).rounded())) }
        let limit = exp(-mean)
        var k = 0
        var p = uniform()
        while p > limit {
            k += 1
            p *= uniform()
        }
        return k
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
