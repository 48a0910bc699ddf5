import Basics
import Foundation

/// Writing one event's output files (a calexp and its two CSV files, a coadd and its two): all of
/// them or none. Each file is written under a temporary name and renamed (`AtomicFile`), and when one
/// fails — a full disk, most often — those already written are removed too, so that a failed event
/// leaves neither a temporary file nor an image without its catalog, and frees the space it took.
enum OutputFiles {
    /// Makes `directory`, then runs `write`, which writes `urls`; removes them all when it fails.
    ///
    /// - Throws: What `write` throws; a `FileSystemProblem` when the directory cannot be made on a full
    ///   or read-only file system.
    static func writeAll(_ urls: [URL], in directory: URL, _ write: () throws -> Void) throws {
        try FileSystemProblem.translating(path: directory.path) {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }
        do {
            try write()
        } catch {
            for url in urls { unlink(url.path) }
            throw error
        }
    }

    /// The bytes of a FITS file holding one 32-bit float image of `width` × `height` pixels and a header
    /// (a best estimate of what its write needs): whole 2880-byte blocks.
    static func imageBytes(width: Int, height: Int) -> Int64 {
        let block: Int64 = 2880
        let data = Int64(width) * Int64(height) * 4
        return block * 2 + (data + block - 1) / block * block
    }
}
