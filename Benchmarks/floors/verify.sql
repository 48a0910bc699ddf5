-- The floor for `dcprod verify`: the outcomes of table `o` recorded set-based by SQLite itself, as
-- verify records them one by one (the outcome history, then each event's state), in one transaction.
PRAGMA foreign_keys = ON;
BEGIN;
INSERT OR REPLACE INTO outcome (eventId, attemptId, status, class, message, seconds, outputs)
    SELECT eventId, attemptId, status, class, message, seconds, outputs FROM o;
UPDATE event SET state = o.status, class = o.class, message = o.message, attemptId = o.attemptId, attempts = attempts + 1
    FROM o WHERE event.id = o.eventId AND (event.attemptId IS NULL OR event.attemptId <= o.attemptId);
UPDATE attempt SET verified = 1;
COMMIT;
