/// The processing steps of a production, in the order they run.
public enum Step: String, CaseIterable, Sendable, Codable, Comparable {
    case processCcd
    case coadd
    case forcedPhot

    public static func < (lhs: Step, rhs: Step) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// What one event of a step is.
    public enum Unit: Sendable {
        /// A frame `(run, camcol, field, filter)`, keyed `RRRRRR-C-FFFF`.
        case frame
        /// A sky map patch `(tract, patch, filter)`, keyed `T-X,Y`, made from the frames that touch it.
        case patch
    }

    /// The step whose verified events this step's events are made from; nil for the first.
    public var inputStep: Step? {
        switch self {
        case .processCcd: nil
        case .coadd, .forcedPhot: .processCcd
        }
    }

    /// The step whose catalog rows the step's jobs are given, in files the manager writes
    /// (forcedPhot: coadd's DeepSource positions); its events must be settled and loaded first.
    public var positionsStep: Step? {
        switch self {
        case .processCcd, .coadd: nil
        case .forcedPhot: .coadd
        }
    }

    /// What one event of the step is.
    public var unit: Unit {
        switch self {
        case .processCcd, .forcedPhot: .frame
        case .coadd: .patch
        }
    }
}

/// An SDSS/LSST broad-band filter. `filterId` is the DC2013 `Filter` table's id.
public enum Filter: String, CaseIterable, Sendable, Codable, Comparable {
    case u, g, r, i, z

    public var filterId: Int { Filter.allCases.firstIndex(of: self)! }

    public static func < (lhs: Filter, rhs: Filter) -> Bool { lhs.filterId < rhs.filterId }
}
