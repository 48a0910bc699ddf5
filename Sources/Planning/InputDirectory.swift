import Foundation
import Production

/// INPUT as the frames' directory: it must exist, be a directory and hold something, or the
/// production would quietly find no frames where a file system is not mounted.
public struct InputDirectory: Sendable {
    /// Why INPUT holds no frames to read.
    public struct Problem: Error, CustomStringConvertible, Sendable {
        public var message: String
        public var description: String { message }
    }

    public let path: String
    /// The frozen config (`production.conf`) and the line of its INPUT (of DATAMAIN where INPUT is
    /// the default), to name where the path comes from.
    public let origin: String

    public init(production: Production) {
        path = production.config.input
        let file = production.tree.configFile.path
        let line = ConfigParser.line(of: "INPUT", in: file) ?? ConfigParser.line(of: "DATAMAIN", in: file)
        origin = line.map { "\(file):\($0)" } ?? file
    }

    /// Nil when INPUT is a directory with at least one entry; else what is wrong, with the remedy.
    /// Cheap at any size: it reads one directory entry, never walks the tree.
    public func problem() -> Problem? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            return Problem(message: "\(origin): INPUT \(path) does not exist (is its file system mounted?); "
                + "mount it or correct INPUT, or give --allow-empty to go on without reading frames")
        }
        guard isDirectory.boolValue else {
            return Problem(message: "\(origin): INPUT \(path) is a file, not a directory of frames; correct INPUT")
        }
        guard let stream = opendir(path) else {
            return Problem(message: "\(origin): INPUT \(path) cannot be read: \(String(cString: strerror(errno)))")
        }
        defer { closedir(stream) }
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { return nil }
        }
        return Problem(message: "\(origin): INPUT \(path) is empty (is its file system mounted?); "
            + "mount it or put the frames there, or give --allow-empty to go on without reading frames")
    }

    /// The problem of an INPUT that exists but holds no file with a frame's name (`fpC-*`).
    public func noFrames() -> Problem {
        Problem(message: "\(origin): INPUT \(path) holds no frame files (fpC-*.fit); "
            + "put the frames there or correct INPUT, or give --allow-empty to go on without frames")
    }
}
