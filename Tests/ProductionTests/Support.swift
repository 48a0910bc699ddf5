import Foundation

/// Runs `body` with the path of a state store in a directory of its own, removed when it returns.
func withStorePath(_ body: (_ path: String) throws -> Void) throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dcprod-store-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    try body(directory.appendingPathComponent("state.sqlite").path)
}
