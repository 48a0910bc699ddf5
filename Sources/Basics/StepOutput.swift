/// A file the reference payload writes for an event, named for the event: `calexp-STEM.fits`, with
/// STEM a frame's `RRRRRR-Fc-FFFF` or a patch's `T-X,Y-F`.
///
/// The payload writes these names and the manager recognises them (a bundle's calexps and deepsrc
/// files), so they are spelled here only. `templates/steps/STEP.step` lists them again for the
/// manager, as `output {{out}}/calexp-{{stem}}.fits`: a production running another payload
/// (the LSST stack) names its own.
public enum StepOutput: String, CaseIterable, Sendable {
    /// processCcd: the calibrated exposure (FITS).
    case calexp
    /// processCcd: the sources measured on the calexp (the Source table's rows).
    case src
    /// processCcd: the calexp's summary (its Science_Ccd_Exposure row).
    case ccd
    /// coadd: the coadded image of a patch in a filter (FITS).
    case deepCoadd
    /// coadd: the sources detected on the coadd (the DeepSource table's rows).
    case deepsrc
    /// coadd: the coadd's summary (its DeepCoadd row).
    case coadd
    /// forcedPhot: the calexp measured at the coadd's source positions (the DeepForcedSource rows).
    case forced

    /// What a file name of this output starts with: `calexp-`.
    public var prefix: String { rawValue + "-" }

    /// The file name's extension: `fits` for the images, `csv` for the tables.
    public var fileExtension: String {
        switch self {
        case .calexp, .deepCoadd: "fits"
        case .src, .ccd, .deepsrc, .coadd, .forced: "csv"
        }
    }

    /// The file name of this output of the event `stem`: `calexp-000094-r1-0011.fits`.
    public func fileName(_ stem: String) -> String { prefix + stem + "." + fileExtension }

    /// The event stem of a file name of this output, or nil when it is another file's name.
    public func stem(of fileName: String) -> String? {
        guard fileName.hasPrefix(prefix), fileName.hasSuffix("." + fileExtension),
              fileName.count > prefix.count + fileExtension.count + 1 else { return nil }
        return String(fileName.dropFirst(prefix.count).dropLast(fileExtension.count + 1))
    }

    /// The step whose payload writes this output.
    public var step: Step {
        switch self {
        case .calexp, .src, .ccd: .processCcd
        case .deepCoadd, .deepsrc, .coadd: .coadd
        case .forced: .forcedPhot
        }
    }
}

extension Step {
    /// The files the reference payload writes for each event of the step, in the order
    /// `templates/steps/STEP.step` lists them.
    public var outputs: [StepOutput] { StepOutput.allCases.filter { $0.step == self } }
}
