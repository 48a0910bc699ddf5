-- The least SQLite does to record a plan in dcprod's state store: every unplanned processCcd event
-- into a job (a job_event row each) and marked planned, set-based by the sqlite3 shell in one
-- transaction. (The job ids are made up: the shell does not check foreign keys unless asked.)
BEGIN;
INSERT INTO job_event (jobId, position, eventId)
    SELECT 1000000 + id / 250, id % 250, id FROM event WHERE step = 'processCcd' AND jobId IS NULL;
UPDATE event SET jobId = 1000000 + id / 250, state = 'planned' WHERE step = 'processCcd' AND jobId IS NULL;
COMMIT;
