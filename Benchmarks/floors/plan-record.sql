-- The least SQLite does to record a plan in dcprod's state store: every unplanned processCcd event
-- into a job (its job's list in job_list, schema v29) and marked planned, set-based by the sqlite3
-- shell in one transaction. (The job ids are made up: the shell does not check foreign keys unless asked.)
BEGIN;
INSERT INTO job_list (jobId, events)
    SELECT 1000000 + id / 250, json_group_array(id) FROM event WHERE step = 'processCcd' AND jobId IS NULL GROUP BY 1000000 + id / 250;
UPDATE event SET jobId = 1000000 + id / 250, state = 'planned' WHERE step = 'processCcd' AND jobId IS NULL;
COMMIT;
