import GRDB
@testable import Production
import Testing

/// Schema v30 keeps the planned events of each job counted (`job_planned`, JobPlannedCounts): the task
/// summary's queued, running and to-verify columns are summed from it, not read event by event. A store
/// of before it is migrated in place with its jobs counted; planning, verifying, moving and deleting
/// events keep the counts what counting the events gives.
@Suite struct JobPlannedCountsMigration {
    /// The task summary's coadd r row, by column key (zeros left out).
    static func summaryRow(_ store: StateStore) throws -> [String: Int] {
        let summary = try store.taskSummary()
        let row = try #require(summary.rows.first { $0.step == "coadd" && $0.filter == "r" })
        return Dictionary(uniqueKeysWithValues: zip(summary.columns.map(\.key), row.counts).filter { $0.1 > 0 })
    }

    /// The planned events of each job, counted event by event.
    static func countedByEvents(_ store: StateStore) throws -> [String] {
        try FrameLayoutMigration.rows(store.pool, "SELECT jobId, COUNT(*) FROM event WHERE state = 'planned' AND jobId IS NOT NULL GROUP BY jobId ORDER BY jobId")
    }

    static func kept(_ store: StateStore) throws -> [String] {
        try FrameLayoutMigration.rows(store.pool, "SELECT jobId, events FROM job_planned WHERE events > 0 ORDER BY jobId")
    }

    @Test func aStoreOfBeforeV30IsCountedAndTheCountsFollowTheEvents() throws {
        try withStorePath { path in
            let pool = try DatabasePool(path: path)
            try StateStore.migrator(before: "v30:").migrate(pool)
            try pool.write { db in
                try db.execute(sql: """
                    INSERT INTO event (step, filter, key) VALUES ('coadd', 'r', '0-380,5'), ('coadd', 'r', '0-381,5'),
                        ('coadd', 'r', '0-382,5'), ('coadd', 'r', '0-383,5');
                    INSERT INTO job (name, step, filter, manifest, events, createdAt) VALUES ('coadd-r-000001', 'coadd', 'r', '/m', 3, '');
                    INSERT INTO job_event (jobId, position, eventId) VALUES (1, 0, 1), (1, 1, 2), (1, 2, 3);
                    UPDATE event SET jobId = 1, state = 'planned' WHERE id IN (1, 2, 3);
                    INSERT INTO attempt (jobId, number, backend, token, state, outcomes, log, verified, cpuTime) VALUES
                        (1, 1, 'local', 't1', 'queued', '/o1', '/l1', 0, NULL);
                    """)
            }
            let store = try StateStore(path: path)  // a writer: migrated
            #expect(try store.schemaVersion() == StateStore.latestSchemaVersion)
            #expect(try Self.kept(store) == ["1|3"])
            #expect(try Self.summaryRow(store) == ["new": 1, "queued": 3])

            // One event verified ok, one withdrawn; the job's attempt running.
            try store.write { db in
                try db.execute(sql: """
                    UPDATE event SET state = 'ok', class = 'ok' WHERE id = 1;
                    UPDATE event SET state = 'withdrawn' WHERE id = 2;
                    UPDATE attempt SET state = 'running' WHERE id = 1;
                    """)
            }
            #expect(try Self.kept(store) == ["1|1"])
            #expect(try Self.summaryRow(store) == ["new": 1, "running": 1, "ok": 1, "withdrawn": 1])

            // The fourth event planned in a second job, the third moved to it; that job's attempt ended, unread.
            try store.write { db in
                try db.execute(sql: """
                    INSERT INTO job (name, step, filter, manifest, events, createdAt) VALUES ('coadd-r-000002', 'coadd', 'r', '/m', 2, '');
                    INSERT INTO job_event (jobId, position, eventId) VALUES (2, 0, 3), (2, 1, 4);
                    UPDATE event SET jobId = 2, state = 'planned' WHERE id IN (3, 4);
                    INSERT INTO attempt (jobId, number, backend, token, state, outcomes, log, verified, cpuTime) VALUES
                        (2, 1, 'local', 't2', 'done', '/o2', '/l2', 0, NULL);
                    """)
            }
            #expect(try Self.kept(store) == Self.countedByEvents(store))
            #expect(try Self.kept(store) == ["2|2"])
            #expect(try Self.summaryRow(store) == ["ended": 2, "ok": 1, "withdrawn": 1])

            // An event deleted, and an event inserted planned, as a script might.
            try store.write { db in
                try db.execute(sql: """
                    DELETE FROM job_event WHERE jobId = 2 AND eventId = 4;
                    DELETE FROM event WHERE id = 4;
                    INSERT INTO event (step, filter, key, jobId, state) VALUES ('coadd', 'r', '0-384,5', 2, 'planned');
                    """)
            }
            #expect(try Self.kept(store) == Self.countedByEvents(store))
            #expect(try Self.kept(store) == ["2|2"])
        }
    }

    @Test func aStoreMadeNowCountsAsOneMigrated() throws {
        try withStorePath { path in
            let store = try StateStore(path: path, access: .create)
            try store.write { db in
                try db.execute(sql: """
                    INSERT INTO event (step, filter, key) VALUES ('coadd', 'r', '0-380,5'), ('coadd', 'r', '0-381,5');
                    INSERT INTO job (name, step, filter, manifest, events, createdAt) VALUES ('coadd-r-000001', 'coadd', 'r', '/m', 2, '');
                    UPDATE event SET jobId = 1, state = 'planned';
                    """)
            }
            #expect(try Self.kept(store) == ["1|2"])
            // No attempt yet: planned, not queued.
            #expect(try Self.summaryRow(store) == ["planned": 2])
        }
    }
}
