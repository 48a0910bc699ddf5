import Foundation

/// What `FileSystemProblem` says of a file's file system: its mount point, the space free, whether it
/// is mounted read-only, and who owns the file. Each looks at the nearest existing directory above a
/// file not made yet.
enum FileSystemFacts {
    /// `path` itself when it exists, else the nearest directory above it that does ("/" at worst).
    static func existingAncestor(of path: String) -> String {
        var current = path.isEmpty ? "." : path
        var info = stat()
        while stat(current, &info) != 0 {
            let parent = (current as NSString).deletingLastPathComponent
            if parent.isEmpty { return "." }
            if parent == current { return current }
            current = parent
        }
        return current
    }

    /// The bytes an unprivileged user may still write on the file system of `path` (statvfs's
    /// `f_bavail` blocks of `f_frsize`); 0 when it cannot be examined.
    static func freeBytes(at path: String) -> Int64 {
        var info = statvfs()
        guard statvfs(existingAncestor(of: path), &info) == 0 else { return 0 }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }

    /// Whether the file system of `path` is mounted read-only (statvfs's `ST_RDONLY`).
    static func isMountedReadOnly(_ path: String) -> Bool {
        var info = statvfs()
        guard statvfs(existingAncestor(of: path), &info) == 0 else { return false }
        return info.f_flag & UInt(ST_RDONLY) != 0
    }

    /// The mount point of the file system `path` is on: the longest mount point of
    /// /proc/self/mountinfo that holds its real path; where that cannot be read, the topmost directory
    /// above it on the same device.
    static func mountPoint(of path: String) -> String {
        let existing = existingAncestor(of: path)
        guard let real = realpath(existing, nil) else { return existing }
        defer { free(real) }
        let resolved = String(cString: real)
        if let table = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) {
            let points = table.split(separator: "\n").compactMap { line -> String? in
                let fields = line.split(separator: " ", omittingEmptySubsequences: false)
                return fields.count > 4 ? unescaped(String(fields[4])) : nil
            }
            let holding = points.filter { $0 == "/" || resolved == $0 || resolved.hasPrefix($0 + "/") }
            if let longest = holding.max(by: { $0.count < $1.count }) { return longest }
        }
        return topOfDevice(resolved)
    }

    /// The topmost directory at or above `path` on the same device as it.
    private static func topOfDevice(_ path: String) -> String {
        var info = stat()
        guard stat(path, &info) == 0 else { return path }
        var current = path
        while current != "/" {
            let parent = (current as NSString).deletingLastPathComponent
            var above = stat()
            guard stat(parent, &above) == 0, above.st_dev == info.st_dev else { break }
            current = parent
        }
        return current
    }

    /// A mountinfo field with its octal escapes (`\040` a space, `\011` a tab, `\012` a newline,
    /// `\134` a backslash) undone.
    private static func unescaped(_ field: String) -> String {
        guard field.contains("\\") else { return field }
        var bytes: [UInt8] = []
        let utf8 = Array(field.utf8)
        var index = 0
        while index < utf8.count {
            if utf8[index] == UInt8(ascii: "\\"), index + 3 < utf8.count,
               let value = UInt8(String(decoding: utf8[(index + 1)...(index + 3)], as: UTF8.self), radix: 8) {
                bytes.append(value)
                index += 4
            } else {
                bytes.append(utf8[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Who owns `path` — or, for a file not made yet, the nearest directory above it — with that file's
    /// path and mode.
    static func owner(of path: String) -> (path: String, name: String, mode: mode_t) {
        let existing = existingAncestor(of: path)
        var info = stat()
        guard stat(existing, &info) == 0 else { return (existing, "an unknown user", 0) }
        return (existing, userName(info.st_uid), info.st_mode)
    }

    /// The name of user `uid`, or `uid N` when the system has none for it.
    static func userName(_ uid: uid_t) -> String {
        guard let entry = getpwuid(uid), let name = entry.pointee.pw_name else { return "uid \(uid)" }
        return String(cString: name)
    }
}
