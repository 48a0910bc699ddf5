import Foundation

/// What says that a file may have changed: its inode, size and modification time to the nanosecond,
/// or that it is not there. Taken before the file is read, a stamp that differs later means the file
/// may have changed since; one that is the same means what was read from it still holds.
public struct FileStamp: Hashable, Sendable {
    /// The file stamped.
    public let path: String
    private let identity: [Int64]?

    /// The stamp of `path` now (nil identity: not there, or not examinable).
    public init(path: String) {
        self.path = path
        var info = stat()
        identity = stat(path, &info) == 0
            ? [Int64(info.st_ino), Int64(info.st_size), Int64(info.st_mtim.tv_sec), Int64(info.st_mtim.tv_nsec)]
            : nil
    }

    /// True when the file is as it was stamped.
    public var isCurrent: Bool { FileStamp(path: path) == self }
}
