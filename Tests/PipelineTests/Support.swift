import Foundation

/// A fresh directory under the temporary directory, removed with what it holds when released.
final class Directory {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("dcprod-pipeline-\(UUID().uuidString)")
    deinit { try? FileManager.default.removeItem(at: url) }
}

/// The checkout's DC2013 sky map.
let skyMapFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("templates/skymap/dc2013.skymap").path
