#!/usr/bin/env python3
"""Footprints of FITS frames computed by astropy, to check dcprod's wcslib footprints.

Usage: astropy_footprints.py FILE.fit [FILE.fit ...]

For each file, prints one line: the path, then the sky positions (RA Dec, degrees) of the
FITS pixels (1,1), (NAXIS1,1), (NAXIS1,NAXIS2), (1,NAXIS2) and
((NAXIS1+1)/2, (NAXIS2+1)/2), in that order, i.e. 11 fields separated by single spaces.
Pixel coordinates are 1-based (origin=1 in all_pix2world), as in the FITS standard and in
dcprod's FrameHeader. Numbers are printed with repr(), the shortest text that reads back to
the same double. The path may contain spaces: the last 10 fields are the numbers.

Exit status: 0 on success, 1 when a file cannot be read or has no celestial WCS,
2 on a usage error, 3 when astropy cannot be imported.
"""

import sys
import warnings


def footprint(path):
    from astropy.io import fits
    from astropy.wcs import WCS

    with fits.open(path, memmap=False) as hdul:
        header = hdul[0].header.copy()
    width = int(header["NAXIS1"])
    height = int(header["NAXIS2"])
    with warnings.catch_warnings():
        # Non-standard but harmless keywords (e.g. RADESYS/EQUINOX fixes) warn; they do not
        # change the transformation, and warnings would only clutter stderr.
        warnings.simplefilter("ignore")
        wcs = WCS(header)
    if not wcs.has_celestial or wcs.naxis != 2:
        raise ValueError("no 2-D celestial WCS")
    xs = [1.0, float(width), float(width), 1.0, (width + 1) / 2.0]
    ys = [1.0, 1.0, float(height), float(height), (height + 1) / 2.0]
    ra, dec = wcs.all_pix2world(xs, ys, 1)
    if wcs.wcs.lng == 1:  # axes given as (Dec, RA)
        ra, dec = dec, ra
    fields = []
    for r, d in zip(ra, dec):
        fields.append(repr(float(r)))
        fields.append(repr(float(d)))
    return fields


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        import astropy.io.fits  # noqa: F401
        import astropy.wcs  # noqa: F401
    except ImportError as error:
        print(f"astropy_footprints.py: cannot import astropy: {error}", file=sys.stderr)
        return 3
    status = 0
    for path in argv[1:]:
        try:
            fields = footprint(path)
        except Exception as error:  # report every bad file, go on with the others
            print(f"astropy_footprints.py: {path}: {type(error).__name__}: {error}", file=sys.stderr)
            status = 1
            continue
        print(" ".join([path] + fields))
    sys.stdout.flush()
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
