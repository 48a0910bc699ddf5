#!/usr/bin/env python3
"""Sky positions of pixels through a FITS header's WCS, computed by astropy, to check dcprod's wcslib.

Usage: astropy_pix2world.py HEADERFILE X Y [X Y ...]

HEADERFILE holds a FITS header as 80-character cards (no newlines needed). X Y are FITS pixel
coordinates (1-based). Prints one line per pair: RA Dec in degrees, with repr().

Exit status: 0 on success, 1 when the header has no 2-D celestial WCS, 2 on a usage error.
"""

import sys
import warnings


def main(argv):
    if len(argv) < 4 or len(argv) % 2 != 0:
        print(__doc__, file=sys.stderr)
        return 2
    from astropy.io import fits
    from astropy.wcs import WCS

    with open(argv[1]) as handle:
        header = fits.Header.fromstring(handle.read())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wcs = WCS(header)
    if not wcs.has_celestial or wcs.naxis != 2:
        print("no 2-D celestial WCS", file=sys.stderr)
        return 1
    numbers = [float(v) for v in argv[2:]]
    xs, ys = numbers[0::2], numbers[1::2]
    ra, dec = wcs.all_pix2world(xs, ys, 1)
    for r, d in zip(ra, dec):
        print(repr(float(r)), repr(float(d)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
