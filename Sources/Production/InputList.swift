import GRDB

/// A later step's event's inputs as schema v25 keeps them: one row an event (`input_list`) with its
/// inputs' ids (a JSON array, ascending) and whether it was planned on them, instead of a row an input
/// with its state and attempt (`event_input`, 84 bytes an event at 1/100 of DC2013).
///
/// What an input was when its event was planned is, for all but a few inputs, what it is now: an input's
/// new state or outcome puts the events planned on it in `input_change` (v15), and planning an event again
/// records its inputs as they are. So `input_planned` holds only the inputs whose recorded state and
/// attempt are not what `input_list.planned` gives — an input that changed since (kept by the trigger
/// that keeps `input_change`, with what the input was), one added after planning (`absent`), or one not
/// recorded (NULL) in an event planned on the others — and the view `event_input` gives every row, its
/// columns as before: provenance, `status`, the reports and stale events read it unchanged.
///
/// Migration v25's SQL is made from these texts: they change only with a migration of their own.
enum InputList {
    /// The view `event_input`: an event's inputs in ascending order of ids, each with its state and
    /// attempt when the event was planned (NULL: not planned on it).
    static let view = """
        CREATE VIEW event_input (eventId, inputId, state, attemptId) AS
        SELECT l.eventId, j.value,
            CASE WHEN p.eventId IS NOT NULL THEN p.state WHEN l.planned THEN i.state END,
            CASE WHEN p.eventId IS NOT NULL THEN p.attemptId WHEN l.planned THEN i.attemptId END
        FROM input_list l JOIN json_each(l.inputs) j
        LEFT JOIN input_planned p ON p.eventId = l.eventId AND p.inputId = j.value
        LEFT JOIN event i ON i.id = j.value;
        """

    /// An input recorded through the view (a script's; planning records an event's inputs at once,
    /// `recordInputs`, with the same rows): added to its event's list, in order (at the end when it is
    /// the largest), unless there; its state and attempt kept in `input_planned` when the list does not
    /// give them; an input the rule does not give kept in `input_exception` (v23), and one recorded with
    /// a state (added after planning) making its event one whose inputs changed (v15).
    static let recorded = """
        CREATE TRIGGER event_input_recorded INSTEAD OF INSERT ON event_input
        WHEN NOT EXISTS (SELECT 1 FROM input_list l, json_each(l.inputs) j WHERE l.eventId = new.eventId AND j.value = new.inputId)
        BEGIN
            INSERT INTO input_list (eventId, inputs, planned) VALUES (new.eventId, json_array(new.inputId), 0)
            ON CONFLICT (eventId) DO UPDATE SET inputs = CASE
                WHEN new.inputId > json_extract(inputs, '$[#-1]') THEN json_insert(inputs, '$[#]', new.inputId)
                ELSE (SELECT json_group_array(v) FROM (SELECT value AS v FROM json_each(inputs) UNION ALL SELECT new.inputId ORDER BY 1))
            END;
            INSERT OR REPLACE INTO input_planned (eventId, inputId, state, attemptId)
            SELECT new.eventId, new.inputId, new.state, new.attemptId FROM input_list l LEFT JOIN event i ON i.id = new.inputId
            WHERE l.eventId = new.eventId
            AND (CASE WHEN l.planned THEN i.state END IS NOT new.state OR CASE WHEN l.planned THEN i.attemptId END IS NOT new.attemptId);
            INSERT OR IGNORE INTO input_exception (inputId, eventId)
            SELECT new.inputId, new.eventId WHERE NOT \(InputRule.fits(event: "new.eventId", input: "new.inputId", frames: "frame_record"));
            INSERT OR IGNORE INTO input_change SELECT new.eventId WHERE new.state IS NOT NULL;
        END;
        """

    /// Schema v25's trigger in place of v23's: an input's new state or outcome keeps, for each event
    /// planned on it as it was (found by the rule, then in its list), what it was, and puts the events
    /// planned on it in `input_change`.
    static let inputOutcomeChanged = """
        CREATE TRIGGER input_outcome_changed AFTER UPDATE OF state, attemptId ON event
        WHEN (old.state IS NOT new.state OR old.attemptId IS NOT new.attemptId)
             AND (new.step IN \(InputRule.inputSteps) OR EXISTS (SELECT 1 FROM input_exception WHERE inputId = new.id))
        BEGIN
            INSERT OR IGNORE INTO input_planned (eventId, inputId, state, attemptId)
            SELECT l.eventId, new.id, old.state, old.attemptId FROM input_list l
            WHERE l.planned AND l.eventId IN (\(InputRule.derived(of: "i.id = new.id", frames: "frame_record")))
            AND EXISTS (SELECT 1 FROM json_each(l.inputs) WHERE value = new.id);
            INSERT OR IGNORE INTO input_change SELECT p.eventId FROM input_planned p
            WHERE p.inputId = new.id AND p.state IS NOT NULL AND p.eventId IN (\(InputRule.derived(of: "i.id = new.id", frames: "frame_record")));
        END;
        """

    /// Migration v25: `event_input`'s rows as lists, the states a list does not give kept on their own.
    /// An event is taken as planned when one of its inputs has a state.
    static let migration = """
        CREATE TABLE input_list (eventId INTEGER PRIMARY KEY REFERENCES event(id), inputs TEXT NOT NULL, planned INTEGER NOT NULL);
        CREATE TABLE input_planned (
            eventId INTEGER NOT NULL REFERENCES event(id),
            inputId INTEGER NOT NULL REFERENCES event(id),
            state TEXT,
            attemptId INTEGER,
            PRIMARY KEY (eventId, inputId)
        ) WITHOUT ROWID;
        INSERT INTO input_list (eventId, inputs, planned)
        SELECT eventId, json_group_array(inputId), MAX(state IS NOT NULL)
        FROM (SELECT eventId, inputId, state FROM event_input ORDER BY eventId, inputId) GROUP BY eventId;
        INSERT INTO input_planned (eventId, inputId, state, attemptId)
        SELECT ei.eventId, ei.inputId, ei.state, ei.attemptId FROM event_input ei JOIN input_list l ON l.eventId = ei.eventId
        LEFT JOIN event i ON i.id = ei.inputId
        WHERE CASE WHEN l.planned THEN i.state END IS NOT ei.state OR CASE WHEN l.planned THEN i.attemptId END IS NOT ei.attemptId;
        DROP TRIGGER input_added_after_planning;
        DROP TRIGGER input_exception_kept;
        DROP TRIGGER input_outcome_changed;
        DROP TABLE event_input;
        \(view)
        \(recorded)
        \(inputOutcomeChanged)
        """
}

extension StateStore {
    /// Records an event's inputs at once, with the rows the trigger `event_input_recorded` writes when
    /// they go through the view one at a time (`INSERT OR IGNORE INTO event_input (eventId, inputId,
    /// state)`): those not in the event's list yet are added to it, which stays ascending and without
    /// repeats; `input_planned` keeps each whose `state` (NULL or `absent`) is not what the list gives,
    /// `input_exception` each the rule does not give, and `input_change` the event when they have a state.
    /// The trigger looks for the input in the list and rewrites the list at each row, D² for an event of D
    /// inputs (16,000: 13.4 s); here the list is read and written once. It stays for scripts.
    ///
    /// `INSERT OR IGNORE` into `input_planned`, as the trigger's `OR REPLACE` runs under planning's outer
    /// `OR IGNORE` (SQLite applies the outer statement's conflict policy to a trigger's statements).
    static func recordInputs(_ inputIds: [Int64], of eventId: Int64, state: String?, _ db: Database) throws {
        let listed = try String.fetchOne(db.cachedStatement(sql: "SELECT inputs FROM input_list WHERE eventId = ?"), arguments: [eventId])
        let inputs = try listed.map { try Int64.fetchAll(db.cachedStatement(sql: "SELECT value FROM json_each(?)"), arguments: [$0]) } ?? []
        var seen = Set(inputs), added: [Int64] = []
        for id in inputIds where seen.insert(id).inserted { added.append(id) }
        guard !added.isEmpty else { return }
        let list = jsonArray((inputs + added).sorted()), new = jsonArray(added)
        if listed == nil {
            try db.cachedStatement(sql: "INSERT INTO input_list (eventId, inputs, planned) VALUES (?, ?, 0)").execute(arguments: [eventId, list])
        } else {
            try db.cachedStatement(sql: "UPDATE input_list SET inputs = ? WHERE eventId = ?").execute(arguments: [list, eventId])
        }
        try db.cachedStatement(sql: """
            INSERT OR IGNORE INTO input_planned (eventId, inputId, state, attemptId)
            SELECT l.eventId, j.value, ?1, NULL FROM input_list l JOIN json_each(?2) j LEFT JOIN event i ON i.id = j.value
            WHERE l.eventId = ?3 AND (CASE WHEN l.planned THEN i.state END IS NOT ?1 OR CASE WHEN l.planned THEN i.attemptId END IS NOT NULL)
            """).execute(arguments: [state, new, eventId])
        try db.cachedStatement(sql: """
            INSERT OR IGNORE INTO input_exception (inputId, eventId)
            SELECT j.value, ?2 FROM json_each(?1) j WHERE NOT \(InputRule.fits(event: "?2", input: "j.value", frames: "frame"))
            """).execute(arguments: [new, eventId])
        if state != nil { try db.cachedStatement(sql: "INSERT OR IGNORE INTO input_change VALUES (?)").execute(arguments: [eventId]) }
    }

    /// Records events as planned on their inputs as they are now (schema v25): every input of each of the
    /// events `events` (an SQL list or subquery of ids) — or, `onlyUnrecorded`, those recorded without a
    /// state (a bundle follower's) — takes the state and attempt its input has.
    static func planOnInputsAsTheyAre(_ events: String, onlyUnrecorded: Bool) -> String {
        """
        UPDATE input_list SET planned = 1 WHERE eventId IN \(events) AND NOT planned;
        DELETE FROM input_planned WHERE eventId IN \(events)\(onlyUnrecorded ? " AND state IS NULL" : "");
        """
    }
}
