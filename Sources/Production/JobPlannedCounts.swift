/// The planned events of each job, kept counted (schema v30): `job_planned`, a row a job with the number
/// of its events (`event.jobId`) in state `planned`, kept by the triggers below in the transaction that
/// plans, verifies, withdraws or deletes an event.
///
/// The task summary moves from *planned* to *queued*, *running* or *to verify* the planned events of the
/// jobs whose latest attempt the batch system has, or has ended unread. Counting them event by event
/// cost a read of every such event: 1.1–1.5 s of `status` at DC2013's size with its 1.565M events queued at
/// once, as DC2013 submitted them. Summed from this table it costs a row per job in the batch system.
enum JobPlannedCounts {
    /// Schema v30's statements: the table, filled from the events as they are, and its triggers.
    static let migration = """
        CREATE TABLE job_planned (jobId INTEGER PRIMARY KEY, events INTEGER NOT NULL);
        INSERT INTO job_planned SELECT jobId, COUNT(*) FROM event WHERE state = 'planned' AND jobId IS NOT NULL GROUP BY jobId;
        CREATE TRIGGER job_planned_event_inserted AFTER INSERT ON event WHEN new.state = 'planned' AND new.jobId IS NOT NULL BEGIN
            INSERT INTO job_planned VALUES (new.jobId, 1) ON CONFLICT DO UPDATE SET events = events + 1;
        END;
        CREATE TRIGGER job_planned_event_deleted AFTER DELETE ON event WHEN old.state = 'planned' AND old.jobId IS NOT NULL BEGIN
            UPDATE job_planned SET events = events - 1 WHERE jobId = old.jobId;
        END;
        CREATE TRIGGER job_planned_event_updated AFTER UPDATE OF state, jobId ON event
        WHEN (old.state IS NOT new.state OR old.jobId IS NOT new.jobId)
             AND ((old.state = 'planned' AND old.jobId IS NOT NULL) OR (new.state = 'planned' AND new.jobId IS NOT NULL))
        BEGIN
            UPDATE job_planned SET events = events - 1 WHERE jobId = old.jobId AND old.state = 'planned';
            INSERT INTO job_planned SELECT new.jobId, 1 WHERE new.state = 'planned' AND new.jobId IS NOT NULL
            ON CONFLICT DO UPDATE SET events = events + 1;
        END;
        """
}
