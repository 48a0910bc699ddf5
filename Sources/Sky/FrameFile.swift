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

    /// Calls `body` with the `fpC-*` files under `directory`, in batches of `batch`, in the order of
    /// their paths; symbolic links are listed, not followed, except `directory` itself, and unreadable
    /// directories are passed over.
    ///
    /// Only one directory's names are held at a time, so memory does not grow with INPUT: DC2013's
    /// 1.57 million frames are never all in memory. Each directory's entries are sorted with a `/`
    /// after the names of directories, which makes the walk's order that of the whole paths.
    ///
    /// The walk is `readdir`'s: Foundation's directory enumerator and `attributesOfItem` cost
    /// 200,000 instructions a frame, more than reading the frame's header.
    public static func walk(under directory: String, batch: Int, _ body: ([FrameFile]) throws -> Void) rethrows {
        var pending: [FrameFile] = []
        try visit(directory, relative: "") { relative, fileName in
            guard let name = FrameName(fileName: fileName) else { return }
            let path = (directory as NSString).appendingPathComponent(relative)
            let (size, mtime) = status(path)
            pending.append(FrameFile(path: path, name: name, size: size, mtime: mtime))
            if pending.count >= batch {
                try body(pending)
                pending.removeAll(keepingCapacity: true)
            }
        }
        if !pending.isEmpty { try body(pending) }
    }

    /// How many files under `directory` have a frame's name: what `walk(under:batch:_:)` will give,
    /// counted by names alone.
    public static func count(under directory: String) -> Int {
        var count = 0
        visit(directory, relative: "") { _, fileName in
            if FrameName(fileName: fileName) != nil { count += 1 }
        }
        return count
    }

    /// Calls `visit` with the path relative to the root and the name of every entry whose name
    /// starts with `fpC-`, in path order, descending into directories but not into links to them.
    private static func visit(_ directory: String, relative: String, _ found: (String, String) throws -> Void) rethrows {
        guard let stream = opendir(directory) else { return }
        var entries: [(key: String, name: String, isDirectory: Bool)] = []
        while let entry = readdir(stream) {
            let type = entry.pointee.d_type
            // Names are looked at as bytes: a String is made only of a directory's or a frame's.
            let found: String? = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                let bytes = raw.prefix { $0 != 0 }
                guard !bytes.elementsEqual(".".utf8), !bytes.elementsEqual("..".utf8),
                      bytes.starts(with: "fpC-".utf8) || type == UInt8(DT_DIR) || type == UInt8(DT_UNKNOWN) else { return nil }
                return String(decoding: bytes, as: UTF8.self)
            }
            guard let name = found else { continue }
            let isDirectory = type == UInt8(DT_UNKNOWN) ? isDirectory(directory + "/" + name) : type == UInt8(DT_DIR)
            if isDirectory || name.utf8.starts(with: "fpC-".utf8) {
                entries.append((isDirectory ? name + "/" : name, name, isDirectory))
            }
        }
        closedir(stream)
        for entry in entries.sorted(by: { $0.key < $1.key }) {
            let path = relative.isEmpty ? entry.name : relative + "/" + entry.name
            if entry.name.utf8.starts(with: "fpC-".utf8) { try found(path, entry.name) }
            if entry.isDirectory { try visit(directory + "/" + entry.name, relative: path, found) }
        }
    }

    /// For a file system whose directory entries do not say their type.
    private static func isDirectory(_ path: String) -> Bool {
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
