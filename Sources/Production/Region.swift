/// A rectangle on the sky in ICRS degrees: `raMin < ra < raMax`, `decMin < dec < decMax`.
/// RA does not wrap through 0; Stripe 82's DC2013 region (5 < RA < 55) does not need it.
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

    /// DC2013's part of Stripe 82.
    public static let stripe82 = Region(raMin: 5, raMax: 55, decMin: -1.26, decMax: 1.26)

    public func contains(ra: Double, dec: Double) -> Bool {
        ra > raMin && ra < raMax && dec > decMin && dec < decMax
    }

    /// Why these bounds cannot describe a region, or nil when they can.
    public var impossibility: String? {
        if !(0...360).contains(raMin) || !(0...360).contains(raMax) {
            return "RA bounds must lie in [0, 360] degrees"
        }
        if !(-90...90).contains(decMin) || !(-90...90).contains(decMax) {
            return "Dec bounds must lie in [-90, 90] degrees"
        }
        if raMin >= raMax { return "RA minimum \(Self.format(raMin)) is not below RA maximum \(Self.format(raMax))" }
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
