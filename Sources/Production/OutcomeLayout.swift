/// An outcome as `outcome_record` keeps it (schema v26), for the view `outcome` to give it back as written:
/// its class only when it is not its status (`ok` for nearly every outcome: 3 bytes), and its seconds as
/// whole milliseconds (`milliseconds`, 3 bytes for a run of up to 2 h 20 min) when these give the same
/// double back, as the seconds an outcome file writes with 3 decimals or fewer do; else in `seconds` (8
/// bytes). Every reader, the reports, `status`, the accounting's sums and `dcprod sql`, sees through the view
/// the same values, exact to the bit; a script's INSERT, UPDATE or DELETE on `outcome` goes through the
/// view's triggers.
enum OutcomeLayout {
    /// The class kept for an outcome of class `className` and status `status` (SQL expressions).
    static func keptClass(_ className: String, status: String) -> String { "NULLIF(\(className), \(status))" }

    /// The whole milliseconds kept for `seconds` (an SQL expression) when they give it back exactly; NULL
    /// otherwise, and for none.
    static func milliseconds(_ seconds: String) -> String {
        "CASE WHEN round(\(seconds) * 1000) / 1000.0 = \(seconds) AND abs(\(seconds)) < 1e12 THEN CAST(round(\(seconds) * 1000) AS INTEGER) END"
    }

    /// What `seconds` keeps of `seconds` (an SQL expression): NULL when `milliseconds` holds it.
    static func seconds(_ seconds: String) -> String { "CASE WHEN \(milliseconds(seconds)) IS NULL THEN \(seconds) END" }

    /// The class of the `outcome_record` row `row` (`o`, `NEW`) as written.
    static func shownClass(_ row: String) -> String { "COALESCE(\(row).class, \(row).status)" }

    /// The columns an outcome is written with, with what `outcome_record` keeps of each of the values
    /// `value(column)` (SQL expressions), but its outputs.
    static func kept(_ value: (String) -> String) -> [(column: String, value: String)] {
        [("eventId", value("eventId")), ("attemptId", value("attemptId")), ("status", value("status")),
         ("class", keptClass(value("class"), status: value("status"))), ("message", value("message")),
         ("seconds", seconds(value("seconds"))), ("milliseconds", milliseconds(value("seconds"))), ("sizes", value("sizes"))]
    }

    /// The view `outcome` over `outcome_record` and its triggers (schema v26), its outputs given by `outputs`
    /// (`OutcomeView.outputs` at v26, `OutcomeView.framedOutputs` from v27): the columns of the table before v19.
    static func view(_ outputs: String) -> String {
        let columns: String = kept { $0 }.map(\.column).joined(separator: ", ")
        let values: String = kept { "new.\($0)" }.map(\.value).joined(separator: ", ")
        let set: String = kept { "new.\($0)" }.map { "\($0.column) = \($0.value)" }.joined(separator: ", ")
        let classRequired = "SELECT RAISE(ABORT, 'NOT NULL constraint failed: outcome.class') WHERE new.class IS NULL;"
        return """
            CREATE VIEW outcome AS SELECT o.eventId, o.attemptId, o.status, \(shownClass("o")) AS class, o.message,
                COALESCE(o.milliseconds / 1000.0, o.seconds) AS seconds, \(outputs), o.sizes
            FROM outcome_record o;
            CREATE TRIGGER outcome_inserted INSTEAD OF INSERT ON outcome BEGIN
                \(classRequired)
                INSERT INTO outcome_record (\(columns), outputs) VALUES (\(values), new.outputs);
            END;
            CREATE TRIGGER outcome_updated INSTEAD OF UPDATE ON outcome BEGIN
                \(classRequired)
                UPDATE outcome_record SET \(set), \(OutcomeView.outputsUpdated) WHERE eventId = old.eventId AND attemptId = old.attemptId;
            END;
            CREATE TRIGGER outcome_deleted INSTEAD OF DELETE ON outcome BEGIN
                DELETE FROM outcome_record WHERE eventId = old.eventId AND attemptId = old.attemptId;
            END;
            """
    }
}
