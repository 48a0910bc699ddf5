import Basics
import Foundation
import GRDB

/// The events of one step, filter, state and class, as the state store keeps them counted: its
/// `event_count` table, changed by triggers in the transaction that changes an event (schema v14).
/// Reading them costs the same for the demo's 400 events as for DC2013's 1.57M.
public struct EventTally: Decodable, Sendable, Equatable, FetchableRecord {
    public var step: String
    public var filter: String
    public var state: String
    /// The class of verified events; nil for new and planned ones.
    public var className: String?
    public var events: Int
    /// Of them, those whose CSV outputs the catalog holds (`event.loadedRows` set).
    public var loaded: Int
    /// The catalog rows taken from those.
    public var loadedRows: Int

    /// Its state, class and count as one word of a stamp (`reportStamp`, `activityStamp`): a stamp changes
    /// when an event of its step and filter is planned or verified.
    var stampWord: String { "\(state)/\(className ?? "")=\(events)" }
}

extension StateStore {
    /// The events counted by step, filter, state and class, for one step or filter or all; only the
    /// non-zero counts.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func eventTallies(step: Step? = nil, filter: Filter? = nil) throws -> [EventTally] {
        try pool.read { db in try Self.eventTallies(db, step: step, filter: filter) }
    }

    /// The tallies as `db` reads them, for a reading that must see them in the same snapshot as its own.
    static func eventTallies(_ db: Database, step: Step? = nil, filter: Filter? = nil) throws -> [EventTally] {
        try EventTally.fetchAll(db, SQLRequest(literal: """
            SELECT step, filter, state, NULLIF(class, '') AS className, events, loaded, loadedRows FROM event_count
            WHERE events > 0 AND (\(step?.rawValue) IS NULL OR step = \(step?.rawValue))
            AND (\(filter?.rawValue) IS NULL OR filter = \(filter?.rawValue))
            """, cached: true))
    }
}
