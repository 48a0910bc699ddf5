import Foundation
import Production

extension Production {
    /// The batch system of the production's BACKEND: local processes, Slurm or Grid Engine, each
    /// reading its site's templates from the production's `templates/`.
    public func batchSystem() -> any BatchSystem {
        switch config.backend {
        case .local: LocalBatch()
        case .slurm: SlurmBatch(templates: tree.templatesDirectory)
        case .sge: GridEngineBatch(templates: tree.templatesDirectory)
        }
    }

    /// Most jobs running at once: MAXRUNNING; without it, one per core for the local backend and no
    /// limit of dcprod's for a batch system.
    public var runningLimit: Int {
        if config.maxRunning > 0 { return config.maxRunning }
        return config.backend == .local ? ProcessInfo.processInfo.activeProcessorCount : 1_000_000
    }
}
