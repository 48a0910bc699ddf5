/// A rectangle on the sky in ICRS degrees: `decMin < dec < decMax`, and `raMin < ra < raMax`, or,
/// when `raMin > raMax`, the RA range through 0: `ra > raMin` or `ra < raMax` (Stripe 82 in full,
/// −60 < RA < 60, is `300 60`, which a config may also write `-60 60`: see `written`). DC2013's
/// region (5 < RA < 55) does not wrap.
public struct Region: Equatable, Sendable, Codable, CustomStringConvertible {
    public var raMin: Double
    public var raMax: Double
    public var decMin: Double
    public var decMax: Double

    public init(raMin: Double, raMax: Double, decMin: Double, decMax: Double) {
        self.raMin = raMin
        self.raMax = raMax
        self.decMin = decMin
        self.decMax = decMax
    }

    /// Bounds that describe no region, and why (`Region.written`).
    public struct Impossible: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The region RAMIN RAMAX DECMIN DECMAX describe as a config's REGION or an option writes them.
    /// An RA may be written in [0, 360] or in [−180, 180]: one below 0 is taken a turn up, so that
    /// `-0.5 0.5` is `359.5 0.5`, the range through 0, and `-60 60` is Stripe 82 in full (`300 60`);
    /// bounds a whole turn apart (`-180 180`) are the whole turn, `0 360`.
    ///
    /// - Throws: `Impossible`, saying why, when the bounds describe no region.
    public static func written(_ raMin: Double, _ raMax: Double, _ decMin: Double, _ decMax: Double) throws(Impossible) -> Region {
        guard (-180...360).contains(raMin), (-180...360).contains(raMax) else {
            throw Impossible(description: "RA bounds must lie in [0, 360] degrees (or in [-180, 180])")
        }
        let region = raMax - raMin == 360
            ? Region(raMin: 0, raMax: 360, decMin: decMin, decMax: decMax)
            : Region(raMin: raMin < 0 ? raMin + 360 : raMin, raMax: raMax < 0 ? raMax + 360 : raMax, decMin: decMin, decMax: decMax)
        if let why = region.impossibility { throw Impossible(description: why) }
        return region
    }

    /// DC2013's part of Stripe 82.
    public static let stripe82 = Region(raMin: 5, raMax: 55, decMin: -1.26, decMax: 1.26)

    /// True when the RA range runs through 0 (RAMIN above RAMAX).
    public var wrapsRA: Bool { raMin > raMax }

    /// Whether a position is inside; its RA is taken into [0, 360) first (wcslib may give −0.1 or 360.1).
    public func contains(ra: Double, dec: Double) -> Bool {
        guard ra.isFinite, dec > decMin, dec < decMax else { return false }
        let turned = RightAscension.turned(ra)
        return wrapsRA ? turned > raMin || turned < raMax : turned > raMin && turned < raMax
    }

    /// Why these bounds cannot describe a region, or nil when they can.
    public var impossibility: String? {
        if !(0...360).contains(raMin) || !(0...360).contains(raMax) {
            return "RA bounds must lie in [0, 360] degrees"
        }
        if !(-90...90).contains(decMin) || !(-90...90).contains(decMax) {
            return "Dec bounds must lie in [-90, 90] degrees"
        }
        if raMin == raMax || (raMin == 360 && raMax == 0) {
            return "RA minimum \(Self.format(raMin)) and maximum \(Self.format(raMax)) enclose no RA (a range through 0 is RAMIN above RAMAX, e.g. 300 60)"
        }
        if decMin >= decMax { return "Dec minimum \(Self.format(decMin)) is not below Dec maximum \(Self.format(decMax))" }
        return nil
    }

    /// `RAMIN RAMAX DECMIN DECMAX`, the config's REGION syntax.
    public var description: String {
        [raMin, raMax, decMin, decMax].map(Self.format).joined(separator: " ")
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
