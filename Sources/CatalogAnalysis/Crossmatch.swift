import Basics
import Catalog
import Foundation
import Sky

/// The crossmatch of a catalog selection against a reference catalog, filter by filter, as DC2013's
/// analysts did it against SDSS's Stripe 82 CAS: one-to-one within ±0.0005° in RA·cos Dec and Dec
/// (1.8″; the slide's "0.12 arcsec" is a slip) and ±1 mag — or three times the reference magnitude's
/// error, where the reference gives one and it is larger — nearest first.
///
/// A catalog source's magnitude is its PSF flux calibrated by the zero point the catalog holds for
/// its image: zeroPoint − 2.5 log10(psfFlux), the coadd's (DeepCoadd.zeroPoint) for a DeepSource,
/// its calexp's (Science_Ccd_Exposure.zeroPoint) for a Source or a DeepForcedSource; a source without
/// a positive flux or a zero point has none and matches nothing while magnitudes are compared.
public struct Crossmatch: Sendable {
    /// How close a pair must be.
    public struct Tolerances: Sendable, Equatable {
        /// On each axis, degrees.
        public var position = 0.0005
        /// In magnitude, or three times the reference magnitude's error where that is larger (a faint u
        /// magnitude of SDSS is ±0.7); nil: positions only (the seed's "match only in RA and DEC").
        public var magnitude: Double? = 1

        public init(position: Double = 0.0005, magnitude: Double? = 1) {
            self.position = position
            self.magnitude = magnitude
        }
    }

    /// A row of the catalog selection.
    public struct Source: Sendable, Equatable {
        /// The table's key, as the engine wrote it.
        public var id: String
        public var filter: Filter
        public var position: SkyPosition
        public var flux: Double?
        public var fluxSigma: Double?
        public var zeroPoint: Double?
        /// The coadd (deepCoaddId) or exposure (scienceCcdExposureId) it was measured on.
        public var group: Int64 = 0

        /// zeroPoint − 2.5 log10(psfFlux); nil without a positive flux or a zero point.
        public var magnitude: Double? {
            guard let flux, flux > 0, let zeroPoint else { return nil }
            return zeroPoint - 2.5 * log10(flux)
        }

        /// The magnitude a source of S/N 5 would have on this source's image: zeroPoint − 2.5 log10(5σ).
        var fiveSigmaMagnitude: Double? {
            guard let fluxSigma, fluxSigma > 0, let zeroPoint else { return nil }
            return zeroPoint - 2.5 * log10(5 * fluxSigma)
        }
    }

    /// The crossmatch of one filter.
    public struct Result: Sendable {
        public let filter: Filter
        /// The reference objects inside the selection's area with a magnitude in this filter.
        public let reference: [ReferenceObjects.Object]
        /// The catalog's selected sources in this filter.
        public let sources: [Source]
        /// The matched pairs (indexes into `reference` and `sources`), by reference.
        public let pairs: [SkyMatch.Pair]
        /// Reference objects inside the area without a magnitude in this filter (not matched, not counted).
        public var referenceWithoutMagnitude: Int
        /// Whether each reference object, and each source, is in a pair.
        public let isReferenceMatched: [Bool], isSourceMatched: [Bool]

        public init(filter: Filter, reference: [ReferenceObjects.Object], sources: [Source], pairs: [SkyMatch.Pair],
                    referenceWithoutMagnitude: Int) {
            self.filter = filter
            self.reference = reference
            self.sources = sources
            self.pairs = pairs
            self.referenceWithoutMagnitude = referenceWithoutMagnitude
            var isReferenceMatched = [Bool](repeating: false, count: reference.count)
            var isSourceMatched = [Bool](repeating: false, count: sources.count)
            for pair in pairs {
                isReferenceMatched[pair.reference] = true
                isSourceMatched[pair.catalog] = true
            }
            self.isReferenceMatched = isReferenceMatched
            self.isSourceMatched = isSourceMatched
        }

        /// The reference objects no source matched, in the file's order.
        public var unmatchedReference: [Int] { reference.indices.filter { !isReferenceMatched[$0] } }

        /// The sources no reference object matched, in the catalog's order.
        public var unmatchedSources: [Int] { sources.indices.filter { !isSourceMatched[$0] } }

        /// The catalog's 5σ limit here: the median over its faint sources (S/N under 20, where the sky's
        /// noise dominates σ) of the magnitude S/N 5 would have; nil without such sources.
        public var fiveSigmaLimit: Double? {
            let faint = sources.filter { s in s.flux.map { f in s.fluxSigma.map { f / $0 < 20 } ?? false } ?? false }
            let limits = (faint.isEmpty ? sources : faint).compactMap(\.fiveSigmaMagnitude).sorted()
            return limits.isEmpty ? nil : limits[limits.count / 2]
        }
    }

    public var tolerances: Tolerances

    public init(tolerances: Tolerances = Tolerances()) { self.tolerances = tolerances }

    /// Reads the selection's rows from the catalog, in every filter it selects.
    ///
    /// - Throws: `CatalogError` from the engine (a table missing: a catalog not loaded).
    public static func sources(of selection: CatalogSelection, in catalog: CatalogDatabase) throws -> [Source] {
        var sources: [Source] = []
        try catalog.query(selection.photometryQuery, columns: { _ in }, row: { values in
            let text = values.map(\.text)
            guard let id = text[0], let filterId = text[1].flatMap(Int.init), Filter.allCases.indices.contains(filterId),
                  let ra = text[2].flatMap(Double.init), let dec = text[3].flatMap(Double.init) else { return }
            sources.append(Source(id: id, filter: Filter.allCases[filterId], position: SkyPosition(ra: ra, dec: dec),
                                  flux: text[4].flatMap(Double.init), fluxSigma: text[5].flatMap(Double.init),
                                  zeroPoint: text[6].flatMap(Double.init), group: text[7].flatMap { Int64($0) } ?? 0))
        })
        return sources
    }

    /// Matches the sources of each filter against the reference objects inside the area.
    ///
    /// - Parameters:
    ///   - sources: The catalog's selected rows (`sources(of:in:)`).
    ///   - reference: The reference catalog.
    ///   - filters: The filters to match, each a `Result`.
    ///   - inArea: Whether a reference object lies in the selection's area.
    public func run(sources: [Source], reference: ReferenceObjects, filters: [Filter],
                    inArea: (SkyPosition) throws -> Bool) throws -> [Result] {
        let inside = try reference.objects.filter { try inArea($0.position) }
        return filters.map { filter in
            let objects = inside.filter { $0.magnitude(in: filter) != nil }
            let catalog = sources.filter { $0.filter == filter }
            let magnitudes = catalog.map(\.magnitude)
            let pairs = SkyMatch.oneToOne(reference: objects.map(\.position), catalog: catalog.map(\.position),
                                          tolerance: tolerances.position) { r, c in
                guard let limit = tolerances.magnitude else { return true }
                guard let m = magnitudes[c], let ref = objects[r].magnitude(in: filter) else { return false }
                return abs(m - ref) <= max(limit, 3 * (objects[r].magnitudeError(in: filter) ?? 0))
            }
            return Result(filter: filter, reference: objects, sources: catalog, pairs: pairs,
                          referenceWithoutMagnitude: inside.count - objects.count)
        }
    }
}

extension CatalogSelection {
    /// Whether a position lies in the selection's area: inside the region, or in the inner box of one
    /// of the patches (the patch that holds it as primary), which needs the production's sky map.
    ///
    /// - Throws: `ReferenceError` when patches are asked without a sky map; what wcslib throws.
    public func contains(_ position: SkyPosition, skyMap: SkyMap?) throws -> Bool {
        switch area {
        case .everywhere:
            return true
        case .region(let region):
            return region.contains(ra: position.ra, dec: position.dec)
        case .patches(let patches):
            guard let skyMap else { throw ReferenceError("a selection of patches needs the production's sky map") }
            guard let patch = try skyMap.patch(containing: (position.ra, position.dec)) else { return false }
            return patches.contains(patch)
        }
    }
}
