import Foundation

/// A file under INPUT whose name is a frame's, with the size and mtime inventory remembers it by.
public struct FrameFile: Sendable, Equatable {
    public var path: String
    public var name: FrameName
    /// `lstat`'s: a symbolic link is known by the link itself, as Foundation's `attributesOfItem` did.
    public var size: Int
    /// Seconds since 1970, computed as Foundation's `attributesOfItem` computes its modification
    /// date, so that the values in state stores written before still match, bit for bit.
    public var mtime: Double

    /// Every `fpC-*` file under `directory` (symbolic links listed, not followed, except
    /// `directory` itself), sorted by path; unreadable directories are passed over.
    ///
    /// The walk is `readdir`'s: Foundation's directory enumerator and `attributesOfItem`
    /// cost 200,000 instructions a frame, more than reading the frame's header.
    public static func all(under directory: String) -> [FrameFile] {
        var found: [FrameFile] = []
        walk(directory, relative: "") { relative, fileName in
            guard let name = FrameName(fileName: fileName) else { return }
            let path = (directory as NSString).appendingPathComponent(relative)
            let (size, mtime) = status(path)
            found.append(FrameFile(path: path, name: name, size: size, mtime: mtime))
        }
        return found.sorted { $0.path < $1.path }
    }

    /// Calls `visit` with the path relative to the root and the name of every entry whose name
    /// starts with `fpC-`, descending into directories but not into links to them.
    private static func walk(_ directory: String, relative: String, _ visit: (String, String) -> Void) {
        guard let stream = opendir(directory) else { return }
        defer { closedir(stream) }
        while let entry = readdir(stream) {
            let fileName = withUnsafeBytes(of: entry.pointee.d_name) { bytes in
                String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            }
            if fileName == "." || fileName == ".." { continue }
            let path = directory + "/" + fileName
            let entryRelative = relative.isEmpty ? fileName : relative + "/" + fileName
            if fileName.utf8.starts(with: "fpC-".utf8) { visit(entryRelative, fileName) }
            if isDirectory(entry.pointee.d_type, path) { walk(path, relative: entryRelative, visit) }
        }
    }

    private static func isDirectory(_ type: UInt8, _ path: String) -> Bool {
        if type != UInt8(DT_UNKNOWN) { return type == UInt8(DT_DIR) }
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// `lstat`'s size and mtime, or zeros when the file cannot be examined.
    static func status(_ path: String) -> (size: Int, mtime: Double) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return (0, 0) }
        // Foundation's formula (swift-foundation, FileManager+Utilities: `Date(seconds:nanoSeconds:)`),
        // through the reference date and back; the direct sum differs in the last bit for one time in four.
        let sinceReference = Double(info.st_mtim.tv_sec) - Date.timeIntervalBetween1970AndReferenceDate
            + Double(info.st_mtim.tv_nsec) / 1_000_000_000.0
        return (Int(info.st_size), Date(timeIntervalSinceReferenceDate: sinceReference).timeIntervalSince1970)
    }
}
