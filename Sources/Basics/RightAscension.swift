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
}
