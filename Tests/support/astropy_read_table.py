"""Reads an exported table with astropy.table.Table.read, as a scientist would, and prints what it
found as JSON: the row count, each column's name, dtype, unit, description, UCD, whether it is a
masked column, its masked and NaN counts and the sum of its values, and the table's meta. Used by Tests/CatalogExportTests.

usage: astropy_read_table.py FILE   (.fits or .h5)
"""
import json
import sys

import numpy as np
from astropy.table import MaskedColumn, Table


def describe(path):
    is_fits = path.endswith((".fits", ".fit"))
    table = Table.read(path) if is_fits else Table.read(path, path="data")
    header = None
    if is_fits:
        from astropy.io import fits
        with fits.open(path) as hdus:
            header = hdus[1].header.copy()
    columns = []
    for index, name in enumerate(table.colnames, start=1):
        column = table[name]
        mask = np.asarray(getattr(column, "mask", np.zeros(len(column), bool)), dtype=bool)
        if mask.shape != (len(column),):
            mask = np.zeros(len(column), bool)
        data = np.asarray(column)
        entry = {
            "name": name,
            "dtype": f"{data.dtype.kind}{data.dtype.itemsize}",
            "unit": None if column.unit is None else str(column.unit),
            "masked": int(mask.sum()),
            "maskedColumn": isinstance(column, MaskedColumn),
            "nan": int(np.isnan(data).sum()) if data.dtype.kind == "f" else 0,
        }
        if is_fits:
            entry["description"] = header.get(f"TDOC{index}")
            entry["ttype_comment"] = header.comments[f"TTYPE{index}"] or None
            entry["ucd"] = header.get(f"TUCD{index}")
        else:
            entry["description"] = column.description
            entry["ucd"] = column.meta.get("ucd")
        if data.dtype.kind in "iuf":
            entry["sum"] = float(np.nansum(data[~mask].astype(np.float64)))
        elif len(data):
            entry["first"] = data[0].decode() if isinstance(data[0], bytes) else str(data[0])
        columns.append(entry)
    meta = {key: str(table.meta[key]) for key in ("DCNAME", "DCTABLE", "DCQUERY", "DCPRODV", "DATE") if key in table.meta}
    return {"rows": len(table), "columns": columns, "meta": meta}


if __name__ == "__main__":
    print(json.dumps(describe(sys.argv[1])))
