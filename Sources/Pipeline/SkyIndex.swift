import Basics
import Foundation

/// Positions by cell of `cellSize` degrees (10″), to find those near a point: the one spatial index
/// of the comparisons with the simulator's objects (`TruthComparison`, `CatalogQuality`).
///
/// A cell's RA column is taken modulo a turn and RA differences in (−180°, 180°], so a position at
/// RA 359.9999° finds one at RA 0.0001°. A search looks at the 3 × 3 cells around the point: its
/// radius must not exceed `cellSize`.
struct SkyIndex: Sendable {
    static let cellSize = 1.0 / 360
    static let cellsPerTurn = Int64((360 / cellSize).rounded())

    let positions: [(ra: Double, dec: Double)]
    let cells: [Int64: [Int]]

    init(_ positions: [(ra: Double, dec: Double)]) {
        var cells: [Int64: [Int]] = [:]
        for (k, p) in positions.enumerated() { cells[Self.cell(p.ra, p.dec), default: []].append(k) }
        self.positions = positions
        self.cells = cells
    }

    /// The cell of a position.
    static func cell(_ ra: Double, _ dec: Double) -> Int64 {
        cellKey(column(ra), row(dec))
    }

    static func column(_ ra: Double) -> Int64 { Int64((ra / cellSize).rounded(.down)) }
    static func row(_ dec: Double) -> Int64 { Int64((dec / cellSize).rounded(.down)) }

    /// A cell's key, its RA column taken modulo a turn.
    static func cellKey(_ i: Int64, _ j: Int64) -> Int64 {
        ((i % cellsPerTurn + cellsPerTurn) % cellsPerTurn) << 20 + j + 1 << 19
    }

    /// The indices of the positions within `radius` degrees (at most `cellSize`) of a point, nearest first.
    func near(_ ra: Double, _ dec: Double, within radius: Double) -> [(index: Int, d2: Double)] {
        let scale = cos(dec * .pi / 180)
        let i0 = Self.column(ra), j0 = Self.row(dec)
        var out: [(index: Int, d2: Double)] = []
        for i in (i0 - 1)...(i0 + 1) {
            for j in (j0 - 1)...(j0 + 1) {
                for k in cells[Self.cellKey(i, j)] ?? [] {
                    let dx = RightAscension.difference(positions[k].ra - ra) * scale, dy = positions[k].dec - dec
                    let d2 = dx * dx + dy * dy
                    if d2 <= radius * radius { out.append((k, d2)) }
                }
            }
        }
        return out.sorted { ($0.d2, $0.index) < ($1.d2, $1.index) }
    }

    /// The index of the position nearest a point within `radius` degrees, nil when there is none.
    func nearest(_ ra: Double, _ dec: Double, within radius: Double) -> Int? {
        near(ra, dec, within: radius).first?.index
    }

    /// The indices of the positions in the cells that a box of RA and Dec (degrees) touches.
    func indices(inCellsOf ra: ClosedRange<Double>, _ dec: ClosedRange<Double>) -> [Int] {
        var out: [Int] = []
        for j in Self.row(dec.lowerBound)...Self.row(dec.upperBound) {
            for i in Self.column(ra.lowerBound)...Self.column(ra.upperBound) { out += cells[Self.cellKey(i, j)] ?? [] }
        }
        return out
    }
}
