import Basics

/// The rule by which a later step's event has its inputs (schema v23): a coadd patch is made from the
/// processCcd events of the frames that touch it, a forced-photometry event from its frame's processCcd
/// event and the coadds of the patches its frame touches. `event_input` keeps every input with what it
/// was when the event was planned, by event; the events an input is an input of are found by this rule
/// (`derived`) and `input_exception`, which holds the few pairs the rule does not give, instead of an
/// index of `event_input` by input (58 bytes an event). Migration v23's SQL is made from these texts:
/// they change only with a migration of their own. The triggers made from them read a frame's patches
/// from `frame_record`, as they were kept until schema v29; v29 made them again reading the view `frame`
/// (PatchSets), as a query does (`frames`).
enum InputRule {
    /// The steps whose events are patches made from frames: `('coadd')`.
    static let patchSteps: String = {
        let steps: [Step] = Step.allCases.filter { $0.unit == .patch && $0.inputStep != nil }
        let quoted: [String] = steps.map { "'" + $0.rawValue + "'" }
        return "(" + quoted.joined(separator: ", ") + ")"
    }()

    /// The steps whose events are inputs of another step's by the rule: `('processCcd', 'coadd')`. Another
    /// step's event (a forced photometry) is an input only as an exception.
    static let inputSteps: String = {
        let steps: [Step] = Step.allCases.filter { step in Step.allCases.contains { $0.inputStep == step || $0.positionsStep == step } }
        let quoted: [String] = steps.map { "'" + $0.rawValue + "'" }
        return "(" + quoted.joined(separator: ", ") + ")"
    }()

    /// Whether the event with id `event` is by the rule one an input `input` (ids, SQL expressions) can
    /// be of: an event of the input's frame, a patch the input's frame touches, or an event of a frame
    /// touching the input's patch. A frame's patches are read from `frames`, as in `derived`.
    static func fits(event: String, input: String, frames: String) -> String {
        """
        EXISTS (SELECT 1 FROM event e, event i WHERE e.id = \(event) AND i.id = \(input) AND (
            e.frameId = i.frameId
            OR (e.frameId IS NULL AND e.step IN \(patchSteps) AND e.filter = i.filter
                AND EXISTS (SELECT 1 FROM \(frames) f WHERE f.id = i.frameId AND \(PatchSets.holds("f.patches", "e.key"))))
            OR (i.frameId IS NULL AND e.frameId IS NOT NULL
                AND EXISTS (SELECT 1 FROM frame_patch fp WHERE fp.filter = i.filter AND fp.patch = i.key AND fp.frameId = e.frameId))))
        """
    }

    /// The ids of the events that the events `i` meeting `condition` can be inputs of (a superset of
    /// those `event_input` has them for, with repeats): by the rule (`fits`) and `input_exception`. A
    /// frame's patches are read from `frames`: `frame_record` in the triggers of before schema v29, the
    /// view `frame` since.
    static func derived(of condition: String, frames: String) -> String {
        """
        SELECT d.id FROM event i JOIN event d ON d.frameId = i.frameId WHERE \(condition)
        UNION ALL SELECT d.id FROM event i JOIN \(frames) f ON f.id = i.frameId
            CROSS JOIN \(PatchSets.each("f.patches")) p
            CROSS JOIN event d ON d.step IN \(patchSteps) AND d.filter = i.filter AND d.key = p.value WHERE \(condition)
        UNION ALL SELECT d.id FROM event i JOIN frame_patch fp ON fp.filter = i.filter AND fp.patch = i.key
            JOIN event d ON d.frameId = fp.frameId WHERE i.frameId IS NULL AND \(condition)
        UNION ALL SELECT x.eventId FROM input_exception x WHERE x.inputId IN (SELECT i.id FROM event i WHERE \(condition))
        """
    }

    /// Schema v23's triggers that keep `input_exception`: an input recorded (by dcprod or a script) that
    /// the rule does not give, and the inputs that a frame and a patch gave each other's events by the rule
    /// when the frame stops touching the patch (`frame_patch`, kept with `frame.patches`).
    static let exceptionsKept = """
        CREATE TRIGGER input_exception_kept AFTER INSERT ON event_input
        WHEN NOT \(fits(event: "new.eventId", input: "new.inputId", frames: "frame_record"))
        BEGIN
            INSERT OR IGNORE INTO input_exception (inputId, eventId) VALUES (new.inputId, new.eventId);
        END;
        CREATE TRIGGER input_exception_of_patch AFTER DELETE ON frame_patch BEGIN
            \(exceptionsOfPatch)
        END;
        """

    /// What the frame `old.frameId` and the patch `old.filter`, `old.patch` gave each other's events by the
    /// rule, kept in `input_exception` as the frame stops touching the patch (schema v23's row of `frame_patch`
    /// deleted; v31 keeps it for every patch a frame's new set lacks: PatchSetMembers).
    static let exceptionsOfPatch = exceptions(frame: "old.frameId", filter: "old.filter", patches: "SELECT old.patch")

    /// What the frame of id `frame` and each patch of the filter `filter` that `patches` selects (SQL) gave
    /// each other's events by the rule, kept in `input_exception`.
    static func exceptions(frame: String, filter: String, patches: String) -> String {
        """
        INSERT OR IGNORE INTO input_exception (inputId, eventId)
            SELECT ei.inputId, ei.eventId FROM event c JOIN event f ON f.frameId = \(frame)
            JOIN event_input ei ON ei.eventId = c.id AND ei.inputId = f.id
            WHERE c.step IN \(patchSteps) AND c.filter = \(filter) AND c.key IN (\(patches))
            UNION ALL
            SELECT ei.inputId, ei.eventId FROM event c JOIN event f ON f.frameId = \(frame)
            JOIN event_input ei ON ei.eventId = f.id AND ei.inputId = c.id
            WHERE c.step IN \(patchSteps) AND c.filter = \(filter) AND c.key IN (\(patches));
        """
    }

    /// Schema v23's trigger: an input's new state or outcome puts the planned events it is an input of
    /// in `input_change`, found by the rule, each then by `event_input`'s key.
    static let inputOutcomeChanged = """
        CREATE TRIGGER input_outcome_changed AFTER UPDATE OF state, attemptId ON event
        WHEN (old.state IS NOT new.state OR old.attemptId IS NOT new.attemptId)
             AND (new.step IN \(inputSteps) OR EXISTS (SELECT 1 FROM input_exception WHERE inputId = new.id))
        BEGIN
            INSERT OR IGNORE INTO input_change SELECT ei.eventId FROM event_input ei
            WHERE ei.inputId = new.id AND ei.state IS NOT NULL AND ei.eventId IN (\(derived(of: "i.id = new.id", frames: "frame_record")));
        END;
        """
}
