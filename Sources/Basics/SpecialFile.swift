import Foundation

/// What `path` is when it is not a regular file, symbolic links followed: "FIFO", "socket", ...;
/// nil for a regular file, or for a path that cannot be examined (whose reading then fails on its own).
///
/// Looked at before any file the manager reads is opened: opening a FIFO for reading waits for a
/// writer, for ever if none comes, and a device can be anything. (A file swapped for one between
/// the look and the open is not caught.)
public func specialFileKind(atPath path: String) -> String? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    switch info.st_mode & S_IFMT {
    case S_IFREG: return nil
    case S_IFIFO: return "FIFO"
    case S_IFSOCK: return "socket"
    case S_IFCHR: return "character device"
    case S_IFBLK: return "block device"
    case S_IFDIR: return "directory"
    default: return "special file"
    }
}
