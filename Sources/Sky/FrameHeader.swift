import Basics
import Foundation

/// What inventory learns from one frame: its identity, its size and its footprint on the sky.
public struct FrameHeader: Sendable {
    public var name: FrameName
    public var width: Int
    public var height: Int
    /// The centres of the four corner pixels, (1,1), (W,1), (W,H), (1,H), in that order.
    public var corners: [(ra: Double, dec: Double)]
    public var center: (ra: Double, dec: Double)
}

/// Why a file could not become an event.
public struct FrameProblem: Error, Sendable, CustomStringConvertible {
    public enum Reason: String, Sendable, CaseIterable {
        case unreadable = "unreadable file"
        case notImage = "not a 2-D image"
        case inconsistent = "inconsistent header"
        case brokenWCS = "broken WCS"
        /// The data the header announces is not all in the file.
        case truncated = "truncated"
        /// Sizes or BITPIX no frame has (an axis of a billion pixels, BITPIX 12).
        case badSize = "impossible size"
        case duplicate = "duplicate frame"
        /// A FIFO, socket, device or directory with a frame's name: never opened.
        case notRegular = "not a regular file"
    }

    public var reason: Reason
    public var message: String
    public var description: String { "\(reason.rawValue): \(message)" }
}

extension FrameHeader {
    /// Reads a frame's header with cfitsio and its footprint with wcslib.
    public static func read(path: String, name: FrameName) throws(FrameProblem) -> FrameHeader {
        if let kind = specialFileKind(atPath: path) {
            throw FrameProblem(reason: .notRegular, message: "a \(kind) with a frame's name; not opened")
        }
        do {
            let file = try FITSFile.open(path)
            defer { try? file.close() }
            let size = try file.imageSize()
            guard size.count == 2, size[0] > 0, size[1] > 0 else {
                throw FrameProblem(reason: .notImage, message: "NAXIS = \(size.count), sizes \(size)")
            }
            // The header's sizes against the file's: a truncated frame or one whose header lies is
            // refused here, not in the jobs (where it would crash or fail again at every retry).
            do { _ = try file.checkedPixelCount() } catch let error as FITSError {
                throw FrameProblem(reason: error.message.hasPrefix("truncated") ? .truncated : .badSize, message: error.message)
            }
            try checkIdentity(file, name)
            let wcs: WCS
            do { wcs = try WCS(file: file) } catch let error as FITSError { throw error } catch {
                throw FrameProblem(reason: .brokenWCS, message: "\(error)")
            }
            let (w, h) = (Double(size[0]), Double(size[1]))
            let points = [(x: 1.0, y: 1.0), (x: w, y: 1.0), (x: w, y: h), (x: 1.0, y: h), (x: (w + 1) / 2, y: (h + 1) / 2)]
            let sky: [(ra: Double, dec: Double)]
            do { sky = try wcs.sky(points) } catch {
                throw FrameProblem(reason: .brokenWCS, message: "\(error)")
            }
            guard sky.allSatisfy({ $0.ra.isFinite && $0.dec.isFinite }) else {
                throw FrameProblem(reason: .brokenWCS, message: "the footprint is not finite")
            }
            return FrameHeader(name: name, width: size[0], height: size[1], corners: Array(sky[0..<4]), center: sky[4])
        } catch let problem as FrameProblem {
            throw problem
        } catch let fits as FITSError {
            throw FrameProblem(reason: .unreadable, message: fits.message)
        } catch {
            throw FrameProblem(reason: .unreadable, message: "\(error)")
        }
    }

    /// The header's RUN, CAMCOL, FIELD and FILTER, where present, must agree with the file name.
    private static func checkIdentity(_ file: FITSFile, _ name: FrameName) throws {
        let disagreements = try file.identityMismatches(with: name)
        if !disagreements.isEmpty {
            throw FrameProblem(reason: .inconsistent, message: disagreements.map {
                "\($0.keyword) = \($0.foundText) but the name says \($0.expected)"
            }.joined(separator: "; "))
        }
    }
}

/// A header keyword that says other than what its file is taken for: a frame or calexp whose RUN,
/// CAMCOL, FIELD or FILTER is not its name's, a calexp given to another filter's coadd.
///
/// Inventory refuses such a frame, but a file can be replaced after inventory (a calexp by another
/// filter's): the payloads check their inputs again, so that a wrong file fails its event instead of
/// being measured or stacked as what it is not.
public struct IdentityMismatch: Sendable, Equatable, CustomStringConvertible {
    public var keyword: String
    /// The header's value; nil when the keyword is absent.
    public var found: String?
    public var expected: String
    /// A string keyword's values are quoted as a header writes them.
    public var quoted: Bool

    /// The header's value as a header shows it, or `absent`.
    public var foundText: String { found.map { quoted ? "'\($0)'" : $0 } ?? "absent" }
    public var expectedText: String { quoted ? "'\(expected)'" : expected }

    /// `FILTER = 'g', expected 'r'`, or `FILTER absent, expected 'r'`.
    public var description: String {
        found == nil ? "\(keyword) absent, expected \(expectedText)" : "\(keyword) = \(foundText), expected \(expectedText)"
    }
}

extension FITSFile {
    /// The header's RUN, CAMCOL, FIELD and FILTER that disagree with a frame's name (a calexp's name
    /// is its frame's).
    ///
    /// - Parameter requiringFilter: Whether a header without FILTER disagrees too: a calexp's must
    ///   say it (processCcd writes it), a frame from elsewhere may not; other absent keywords say nothing.
    /// - Throws: `FITSError` when a keyword is there but not of its type (RUN = 'abc').
    public func identityMismatches(with name: FrameName, requiringFilter: Bool = false) throws -> [IdentityMismatch] {
        var out: [IdentityMismatch] = []
        for (key, expected) in [("RUN", name.run), ("CAMCOL", name.camcol), ("FIELD", name.field)] {
            if let value = try integer(key), value != expected {
                out.append(IdentityMismatch(keyword: key, found: String(value), expected: String(expected), quoted: false))
            }
        }
        if let filter = try filterMismatch(with: name.filter, required: requiringFilter) { out.append(filter) }
        return out
    }

    /// The header's FILTER when it is not `filter`; an absent FILTER when `required`.
    ///
    /// - Throws: `FITSError` when FILTER cannot be read.
    public func filterMismatch(with filter: Filter, required: Bool) throws -> IdentityMismatch? {
        let value = try string("FILTER")
        guard value != filter.rawValue, value != nil || required else { return nil }
        return IdentityMismatch(keyword: "FILTER", found: value, expected: filter.rawValue, quoted: true)
    }
}
