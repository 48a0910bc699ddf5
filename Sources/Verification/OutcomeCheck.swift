import Foundation
import Production

/// What verify believes of one attempt's outcome file, checked against the job's manifest.
///
/// The outcome file is written by the job, so a payload can rewrite it: a record is believed only
/// when the file is the attempt's own (its `start` line names the job and attempt), the event is
/// one of the job's, and an `ok` event's outputs are exactly those the manifest expects of it, under
/// the production's data tree (DATAMAIN/DCNAME), regular files (not links) with some bytes. Anything
/// else makes the event a failure of class `bad-record` with the reason; a line that cannot be
/// believed of any event (damaged, of another job's event, a second record of one) is named
/// `file:line: reason` for the report.
struct OutcomeCheck {
    /// The job's name (`processCcd-r-000001`) and the attempt's number, as the `start` line must give them.
    var job: String
    var attempt: Int
    /// The outcome file, for the names of damaged lines.
    var path: String
    /// The outputs the manifest expects of each event; nil when the manifest cannot be read.
    var expected: [String: [String]]?
    /// DATAMAIN/DCNAME, standardised, with a trailing `/`.
    var dataRoot: String

    /// What the check makes of a file.
    struct Result {
        var outcomes: [EventOutcome] = []
        /// `file:line: reason` for each line not believed of any event.
        var damaged: [String] = []
        /// Events whose record was believed or refused (the others are not run).
        var recorded = 0
    }

    /// One outcome for each member with a record, in the file's order, and the lines not believed.
    func check(_ contents: OutcomeFile.Contents, members: [JobMember]) -> Result {
        var result = Result()
        result.damaged = contents.damaged.map { "\(path):\($0): not an outcome record" }
        var byKey: [String: Int64] = [:]
        for member in members { byKey[member.key] = member.id }
        var recorded = Set<Int64>()
        // The file is the attempt's only if its first record is a `start` naming it.
        let foreign: String? = {
            guard let first = contents.records.first else { return nil }
            guard first.type == .start else { return "the file has no start line (line \(first.line) is a\(first.type == .end ? "n" : "") \(first.type.rawValue) line)" }
            guard first.job == job, first.attempt == attempt else {
                return "the file's start line (line \(first.line)) names job \(first.job ?? "none") attempt \(first.attempt.map(String.init) ?? "none"), not \(job) attempt \(attempt)"
            }
            return nil
        }()
        for (index, record) in contents.records.enumerated() {
            switch record.type {
            case .start where index > 0: result.damaged.append("\(path):\(record.line): a second start line")
            case .start, .end: break
            case .event:
                guard let key = record.event else {
                    result.damaged.append("\(path):\(record.line): an event line without its event")
                    continue
                }
                guard let id = byKey[key] else {
                    result.damaged.append("\(path):\(record.line): event \(key) is not in job \(job)")
                    continue
                }
                guard recorded.insert(id).inserted else {
                    result.damaged.append("\(path):\(record.line): a second record of event \(key)")
                    continue
                }
                switch foreign.map({ .failure(Refusal($0)) }) ?? verdict(on: record, key: key) {
                case .failure(let refusal):
                    result.outcomes.append(EventOutcome(eventId: id, state: .failed, className: FailureClasses.badRecord,
                                                        message: "\(path):\(record.line): \(refusal.reason)", seconds: record.seconds, outputs: nil))
                case .success(let sizes):
                    let ok = record.status == "ok"
                    result.outcomes.append(EventOutcome(eventId: id, state: ok ? .ok : .failed, className: ok ? FailureClasses.ok : record.class ?? FailureClasses.other,
                                                        message: record.message ?? "", seconds: record.seconds, outputs: ok ? record.outputs : nil,
                                                        sizes: ok ? sizes : nil))
                }
            }
        }
        result.recorded = recorded.count
        return result
    }

    /// Why an event's record cannot be believed (`.failure`), or the sizes of its outputs.
    func verdict(on record: OutcomeRecord, key: String) -> Swift.Result<[Int64], Refusal> {
        switch record.status {
        case "failed":
            return record.class == FailureClasses.ok ? .failure(Refusal("a failed event of class ok")) : .success([])
        case "ok":
            guard let expected = expected?[key] else { return .failure(Refusal("the job's manifest cannot be read for the outputs of \(key)")) }
            let outputs = record.outputs ?? []
            if let stray = outputs.first(where: { !expected.contains($0) }) {
                return .failure(Refusal("output \(stray) is not one the job's manifest expects of \(key)"))
            }
            if let absent = expected.first(where: { !outputs.contains($0) }) {
                return .failure(Refusal("the record does not give output \(absent), which the job's manifest expects"))
            }
            var sizes: [Int64] = []
            for output in outputs {
                switch Self.size(of: output, under: dataRoot) {
                case .success(let size): sizes.append(size)
                case .failure(let problem): return .failure(Refusal("output \(output) \(problem.reason)"))
                }
            }
            return .success(sizes)
        default:
            return .failure(Refusal("status \(record.status.map { "'\($0)'" } ?? "missing"), neither ok nor failed"))
        }
    }

    /// Why a record is not believed.
    struct Refusal: Error {
        var reason: String
        init(_ reason: String) { self.reason = reason }
    }

    /// The size of an output file a loader may take, or what is wrong with it: outside the data tree,
    /// not there, not a regular file (a link may lead anywhere), or empty.
    static func size(of output: String, under dataRoot: String) -> Swift.Result<Int64, Refusal> {
        guard isInside(output, dataRoot) else { return .failure(Refusal("is outside \(dataRoot.dropLast())")) }
        var status = stat()
        guard lstat(output, &status) == 0 else { return .failure(Refusal("does not exist")) }
        guard status.st_mode & S_IFMT == S_IFREG else { return .failure(Refusal("is not a regular file")) }
        return status.st_size > 0 ? .success(Int64(status.st_size)) : .failure(Refusal("is empty"))
    }

    /// Whether `path` names a file under `root` (which ends with `/`): it starts so and no component
    /// after it is `.` or `..`. Compared as bytes: a `URL` made and standardised per output was a
    /// third of verify's instructions, and stats the path once more.
    static func isInside(_ path: String, _ root: String) -> Bool {
        guard path.utf8.starts(with: root.utf8) else { return false }
        return !path.utf8.dropFirst(root.utf8.count).split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true)
            .contains { $0.elementsEqual("..".utf8) || $0.elementsEqual(".".utf8) }
    }
}
