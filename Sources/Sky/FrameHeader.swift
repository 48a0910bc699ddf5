import Foundation
import Production

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
        var disagreements: [String] = []
        for (key, expected) in [("RUN", name.run), ("CAMCOL", name.camcol), ("FIELD", name.field)] {
            if let value = try file.integer(key), value != expected {
                disagreements.append("\(key) = \(value) but the name says \(expected)")
            }
        }
        if let value = try file.string("FILTER"), value != name.filter.rawValue {
            disagreements.append("FILTER = '\(value)' but the name says \(name.filter.rawValue)")
        }
        if !disagreements.isEmpty {
            throw FrameProblem(reason: .inconsistent, message: disagreements.joined(separator: "; "))
        }
    }
}
