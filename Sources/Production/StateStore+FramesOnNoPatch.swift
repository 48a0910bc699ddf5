import Basics
import Foundation
import GRDB

extension StateStore {
    /// The frame events of a step and filter in no job whose frames touch no patch of the sky map (their
    /// kept patches are none: off the map), by key: `--by-patch` planning, which goes by patches, plans
    /// them in jobs of their own so that none is left out.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func unplannedFramesOnNoPatch(step: Step, filter: Filter) throws -> [Int64] {
        try pool.read { db in
            try Int64.fetchAll(db, sql: """
                SELECT e.id FROM event e JOIN frame f ON f.id = e.frameId
                WHERE e.step = ? AND e.filter = ? AND e.jobId IS NULL AND f.patches = '' ORDER BY e.key
                """, arguments: [step, filter])
        }
    }
}
