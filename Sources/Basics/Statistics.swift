/// Medians and robust scatters of finite values: the comparisons of a production with the truth, with
/// a reference catalog or with another production.
public enum Statistics {
    /// The median of the finite values; nil without any.
    public static func median(_ values: [Double]) -> Double? {
        let sorted = values.filter(\.isFinite).sorted()
        guard !sorted.isEmpty else { return nil }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// 1.4826 × the median absolute deviation: the σ of a Gaussian, unmoved by outliers.
    public static func robustSigma(_ values: [Double]) -> Double? {
        guard let m = median(values), let mad = median(values.map { abs($0 - m) }) else { return nil }
        return 1.4826 * mad
    }
}
