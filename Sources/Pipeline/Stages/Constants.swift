import Foundation

/// Constants of the Gaussian profile (astropy's `stats.funcs.gaussian_sigma_to_fwhm`).
enum Gaussian {
    /// FWHM over σ of a Gaussian, 2√(2 ln 2) = 2.354820…, to the four decimals the payload has
    /// always used: its catalogues' numbers are made with this value, so it is kept, not refined.
    static let sigmaToFWHM = 2.3548
}

/// The median absolute deviation as an estimate of a normal distribution's σ (astropy's `mad_std`).
enum MAD {
    /// σ over the MAD of a normal distribution, 1/Φ⁻¹(3/4) = 1.482602…, to the four decimals the
    /// payload has always used.
    static let toSigma = 1.4826
}
