import Foundation

/// A 2-D float image, row after row (x fastest), 0-based pixel coordinates at pixel centres.
struct Image: Sendable, Equatable {
    var width: Int
    var height: Int
    var pixels: [Float]

    subscript(x: Int, y: Int) -> Float {
        get { pixels[y * width + x] }
        set { pixels[y * width + x] = newValue }
    }
}
