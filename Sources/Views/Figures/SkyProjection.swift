import Basics
import Foundation

/// How a sky map places RA and Dec on its plot: a plate carrée around the middle of the data, RA
/// increasing to the left, RA differences shrunk by cos Dec of the middle so that a square degree
/// looks square there, one scale for both axes so that shapes keep their aspect.
///
/// RA is a circle: the map unwraps it from the end of the largest empty arc between the data's RAs,
/// so that data around RA 0 (359.8 and 0.3) is one region 0.5° wide, not two 359.5° apart.
struct SkyProjection {
    /// The smallest field drawn, in degrees: the extent of a single point or of equal ones.
    static let smallestField = 0.1

    /// The RA from which RAs are unwrapped: every RA is drawn as a value in `start..<start + 360`.
    let start: Double
    /// The unwrapped RA and the Dec at the plot's centre.
    let centre: (ra: Double, dec: Double)
    /// cos Dec of the centre, the RA axis' shrink; kept above cos 89° so that a map at a pole stays finite.
    let shrink: Double
    /// ViewBox units per degree of Dec (or of RA × `shrink`).
    let scale: Double
    let plot: Canvas.Rect
    /// The box of the data in the viewBox, inside `plot`.
    let data: Canvas.Rect

    /// The projection that fits all of `ras` and `decs` into `plot` with a margin.
    ///
    /// - Parameters:
    ///   - ras: The RAs in degrees of every point and corner to be drawn, finite, not empty.
    ///   - decs: Their Decs in degrees, in −90...90.
    ///   - plot: Where to draw.
    init(ras: [Double], decs: [Double], plot: Canvas.Rect) {
        let turned = ras.map(Self.turn).sorted()
        // The largest gap between neighbours, the one across 360 included; the data starts after it.
        var start = turned[0], gap = turned[0] + 360 - turned[turned.count - 1]
        for index in turned.indices.dropFirst() where turned[index] - turned[index - 1] > gap {
            (start, gap) = (turned[index], turned[index] - turned[index - 1])
        }
        let raExtent = 360 - gap
        let decLow = decs.min() ?? 0, decHigh = decs.max() ?? 0
        self.start = start
        centre = (start + raExtent / 2, (decLow + decHigh) / 2)
        shrink = max(cos(centre.dec * .pi / 180), cos(89 * .pi / 180))
        let width = max(raExtent * shrink * 1.08, Self.smallestField)
        let height = max((decHigh - decLow) * 1.08, Self.smallestField)
        let scale = min(plot.width / width, plot.height / height)
        self.scale = scale
        self.plot = plot
        let (dataWidth, dataHeight) = (raExtent * shrink * scale, (decHigh - decLow) * scale)
        data = Canvas.Rect(x: plot.midX - dataWidth / 2, y: plot.midY - dataHeight / 2, width: dataWidth, height: dataHeight)
    }

    /// `ra` in `0..<360`.
    static func turn(_ ra: Double) -> Double { RightAscension.turned(ra) }

    /// `dec` within −90...90: a Dec beyond a pole is taken as the pole.
    static func clamp(dec: Double) -> Double { min(max(dec, -90), 90) }

    /// `ra` as the map draws it: in `start..<start + 360`.
    func unwrap(_ ra: Double) -> Double { start + Self.turn(ra - start) }

    /// The x in the viewBox of a RA, smaller for a larger RA.
    func x(_ ra: Double) -> Double { x(unwrapped: unwrap(ra)) }

    /// The x in the viewBox of an unwrapped RA, such as a tick's, which may lie outside the data's turn.
    func x(unwrapped ra: Double) -> Double { plot.midX - (ra - centre.ra) * shrink * scale }

    /// The y in the viewBox of a Dec, smaller (higher) for a larger Dec.
    func y(_ dec: Double) -> Double { plot.midY - (dec - centre.dec) * scale }

    /// The unwrapped RA at an x of the viewBox.
    func ra(x: Double) -> Double { centre.ra - (x - plot.midX) / (shrink * scale) }

    /// The Dec at a y of the viewBox.
    func dec(y: Double) -> Double { centre.dec - (y - plot.midY) / scale }

    /// A RA tick's label: the unwrapped tick turned back into `0..<360`, so that ticks across RA 0
    /// read 359.5, 0, 0.5.
    static func raLabel(_ ra: Double, ticks: Ticks) -> String {
        let label = ticks.label(turn(ra))
        // 359.99999 prints as 360 before the turn would have made it 0.
        return label == "360" ? "0" : label
    }
}
