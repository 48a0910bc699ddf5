/// Right ascensions in one turn, and their differences: the one rule for every place that turns them
/// (the region, the simulator, the sky figures, the matching indexes).
public enum RightAscension {
    /// `ra` taken into [0, 360): wcslib may give −0.1 or 360.1, a sum may pass 360.
    public static func turned(_ ra: Double) -> Double {
        let rest = ra.truncatingRemainder(dividingBy: 360)
        let wrapped = rest < 0 ? rest + 360 : rest
        return wrapped < 360 ? wrapped : 0  // -1e-20 + 360 rounds to 360
    }

    /// An RA difference taken into (−180, 180]: the short way round, so that 359.9999° and 0.0001° are 0.0002° apart.
    public static func difference(_ d: Double) -> Double {
        let rest = d.truncatingRemainder(dividingBy: 360)
        return rest > 180 ? rest - 360 : rest <= -180 ? rest + 360 : rest
    }

    /// The smallest RA range holding every one of `ras` (the corners of a frame or a patch, far less than
    /// half a turn apart), in [0, 360): `low` above `high` when it runs through 0, as a REGION's RAMIN
    /// and RAMAX do (a frame across RA 0 spans 359.9 to 0.1, not 0.1 to 359.9). A range that does not
    /// run through 0 is the RAs' own minimum and maximum, unchanged.
    public static func span(_ ras: [Double]) -> (low: Double, high: Double) {
        let turnedRAs = ras.map(turned)
        guard let low = turnedRAs.min(), let high = turnedRAs.max() else { return (0, 0) }
        if high - low <= 180 { return (low, high) }
        let offsets = turnedRAs.map { difference($0 - low) }
        return (turned(low + offsets.min()!), turned(low + offsets.max()!))
    }

    /// Whether `ra` (any turn) lies in the range `low`...`high` of `span`, bounds included; `low` above
    /// `high` is the range through 0.
    public static func isWithin(_ ra: Double, _ low: Double, _ high: Double) -> Bool {
        let ra = turned(ra)
        return low <= high ? ra >= low && ra <= high : ra >= low || ra <= high
    }
}
