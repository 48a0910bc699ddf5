import Foundation
import Testing

/// The test clusters of Tests/run (one Slurm, one Grid Engine) are shared by every test of the run,
/// and tests of different suites run at once. A test that uses a cluster holds its lock (a `flock` on
/// `DIR/tests.lock`) shared; one that stops its controller, or counts every job in it, holds it
/// exclusive, so that no test meets a controller another has stopped or jobs another is counting.
/// Without the cluster's directory (it did not start) the test runs as it would, and fails on its own.
struct ClusterUse: TestTrait, TestScoping {
    /// The variables naming the clusters' directories: `DCPROD_TEST_SLURM_DIR`, `DCPROD_TEST_SGE_DIR`.
    var directories: [String]
    var exclusive: Bool

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        var descriptors: [Int32] = []
        defer { descriptors.forEach { close($0) } }
        for variable in directories {
            guard let directory = ProcessInfo.processInfo.environment[variable] else { continue }
            let descriptor = open(directory + "/tests.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { continue }
            descriptors.append(descriptor)
            // Polled, not blocking: a waiting test must not hold one of the few threads tests run on.
            while flock(descriptor, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0 {
                try await Task.sleep(nanoseconds: 100_000_000)
            }
        }
        try await function()
    }
}

extension Trait where Self == ClusterUse {
    /// Uses the Slurm cluster, the Grid Engine cell, or both (`"DCPROD_TEST_SLURM_DIR"`, `"DCPROD_TEST_SGE_DIR"`).
    static func usingCluster(_ directories: String..., exclusive: Bool = false) -> ClusterUse {
        ClusterUse(directories: directories, exclusive: exclusive)
    }
}
