import Basics
import Foundation

/// Where a step and filter, as the state store writes them, go in a table: steps in the order a
/// production goes, filters in u g r i z order; a name dcprod does not know after the others.
public func tableOrder(step: String, filter: String) -> (Int, Int) {
    (Step(rawValue: step).flatMap { Step.allCases.firstIndex(of: $0) } ?? 99, Filter(rawValue: filter)?.filterId ?? 99)
}
