import GRDB

/// The events of each job as the state store keeps them (schema v29): `job_event`, a row an event of a
/// job (its job, position and event: 13.4 bytes an event at 1/100 of DC2013), becomes the view of the
/// same name over `job_list`, a row a job with its events' ids as one JSON array in their order (the
/// digits of an id and a comma: 6–7 bytes an event). A job's events are written once, when it is
/// planned, and never changed: planning writes the list whole (`StateStore.insert(_:step:filter:…)`).
///
/// Every query of `job_event` reads the same rows through the view (by job: `job_list`'s key, then the
/// list unpacked), the positions 0, 1, … in the order written, as dcprod has always written them. A
/// script's INSERT through the view appends its event to its job's list (positions go in the order
/// rows are inserted), a DELETE takes the event out of it.
enum JobLists {
    /// Schema v29's statements: `job_list` (filled by `convert`) and the view with its triggers.
    static let migration = """
        CREATE TABLE job_list (jobId INTEGER PRIMARY KEY REFERENCES job(id), events TEXT NOT NULL);
        """

    /// The view and its triggers, made once `job_event` the table is gone.
    static let view = """
        CREATE VIEW job_event AS SELECT l.jobId, j.key AS position, j.value AS eventId FROM job_list l, json_each(l.events) j;
        CREATE TRIGGER job_event_inserted INSTEAD OF INSERT ON job_event BEGIN
            SELECT RAISE(ABORT, 'NOT NULL constraint failed: job_event.eventId') WHERE new.jobId IS NULL OR new.eventId IS NULL;
            INSERT INTO job_list (jobId, events) VALUES (new.jobId, json_array(new.eventId))
            ON CONFLICT (jobId) DO UPDATE SET events = json_insert(events, '$[#]', new.eventId);
        END;
        CREATE TRIGGER job_event_deleted INSTEAD OF DELETE ON job_event BEGIN
            UPDATE job_list SET events = (SELECT json_group_array(j.value) FROM json_each(job_list.events) j WHERE j.value IS NOT old.eventId)
            WHERE jobId = old.jobId;
            DELETE FROM job_list WHERE jobId = old.jobId AND events = '[]';
        END;
        """

    /// Schema v29's conversion: each job's rows of `job_event` as its list, in the order of their
    /// positions, a thousand jobs at a time; then the table becomes the view.
    static func convert(_ db: Database) throws {
        let insert = try db.makeStatement(sql: "INSERT INTO job_list (jobId, events) VALUES (?, ?)")
        var after: Int64 = .min
        while true {
            let rows = try Row.fetchAll(db, sql: """
                SELECT jobId, eventId FROM job_event
                WHERE jobId IN (SELECT DISTINCT jobId FROM job_event WHERE jobId > ? ORDER BY jobId LIMIT 1000) ORDER BY jobId, position
                """, arguments: [after])
            guard let last = rows.last else { break }
            var lists: [(jobId: Int64, events: [Int64])] = []
            for row in rows {
                let jobId: Int64 = row[0]
                if lists.last?.jobId != jobId { lists.append((jobId, [])) }
                lists[lists.count - 1].events.append(row[1])
            }
            for list in lists { try insert.execute(arguments: [list.jobId, StateStore.jsonArray(list.events)]) }
            after = last[0]
        }
        try db.execute(sql: "DROP TABLE job_event;\n" + view)
    }
}
