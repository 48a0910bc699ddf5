import Basics
import Foundation

// Paths shared by the VerificationTests, found from this file's location (no bundle resources):
// Tests/VerificationTests/Support.swift → Tests/VerificationTests/Fixtures and ../../templates.

/// Tests/VerificationTests/Fixtures.
let fixturesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures", isDirectory: true)

/// The repository's templates/ directory.
let templatesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("templates", isDirectory: true)

/// templates/rules/classes, templates/rules/reference.rules, templates/rules/lsst-dc2013.rules.
let classesPath = templatesDirectory.appendingPathComponent("rules/classes").path
let referenceRulesPath = templatesDirectory.appendingPathComponent("rules/reference.rules").path
let lsstRulesPath = templatesDirectory.appendingPathComponent("rules/lsst-dc2013.rules").path

/// The text of a fixture log.
func fixture(_ name: String) throws -> String {
    try String(contentsOf: fixturesDirectory.appendingPathComponent(name), encoding: .utf8)
}

/// Runs `body` with a fresh directory under the system temporary directory, removed afterwards.
func withTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("dcprod-verificationtests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try body(directory)
}

/// Writes `text` to `name` in `directory` and returns its path.
@discardableResult
func write(_ text: String, to name: String, in directory: URL) throws -> String {
    let url = directory.appendingPathComponent(name)
    try text.write(to: url, atomically: true, encoding: .utf8)
    return url.path
}

/// The lines of an outcome file (JSON Lines), decoded.
func outcomeLines(_ path: String) throws -> [OutcomeLine] {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    let decoder = JSONDecoder()
    return try text.split(separator: "\n").map { try decoder.decode(OutcomeLine.self, from: Data($0.utf8)) }
}
