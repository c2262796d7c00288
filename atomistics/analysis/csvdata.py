"""Read numeric columns with units from a CSV file.

Headers name a column and, in brackets or parentheses, its unit:
``time [s]``, ``current (mA)``, ``temperature [degC]``. A column is found by
its name (case-insensitive, the part before the unit). Lines starting with ``#``
are comments. Values are returned in SI (via :mod:`atomistics.units`).

The file must be UTF-8 text; a UTF-8 byte-order mark (Excel's "CSV UTF-8"
export) is accepted. Every value must be a finite number, and absolute
temperatures must be above 0 K.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from atomistics.errors import AtomisticsError
from atomistics.units import check_temperature, parse_unit_factor

MAX_CSV_BYTES = 50 << 20  # 50 MiB: far above any measured curve; refuses a wrong file early

_HEADER = re.compile(r"^\s*(?P<name>[^\[\(]+?)\s*(?:[\[\(](?P<unit>[^\]\)]*)[\]\)])?\s*$")


def read_columns(
    path: str | Path, wanted: dict[str, tuple[tuple[str, ...], str, str | None]]
) -> dict[str, NDArray[np.float64]]:
    """Return SI arrays for the ``wanted`` columns.

    ``wanted`` maps a result key to ``(accepted header names, unit kind, default unit)``;
    the default unit applies when the header gives none (``None``: a unit is required).
    """
    path = Path(path)
    if not path.is_file():
        raise AtomisticsError(f"CSV file {str(path)!r} not found")
    if path.stat().st_size > MAX_CSV_BYTES:
        raise AtomisticsError(
            f"{path}: {path.stat().st_size} bytes is too large for a measured curve "
            f"(limit {MAX_CSV_BYTES >> 20} MiB): check that this is the right file."
        )
    raw = path.read_bytes()
    if b"\x00" in raw:
        raise AtomisticsError(f"{path}: binary data, not a CSV text file: export the data as CSV.")
    try:
        text = raw.decode("utf-8-sig")  # utf-8-sig drops Excel's byte-order mark
    except UnicodeDecodeError as exc:
        raise AtomisticsError(
            f"{path}: not UTF-8 text (byte {exc.start}: {raw[exc.start : exc.start + 1]!r}); "
            "save it as 'CSV UTF-8' (e.g. iconv -f cp1252 -t utf-8)."
        ) from None
    try:
        rows = [
            r
            for r in csv.reader(io.StringIO(text, newline=""))
            if r and not r[0].lstrip().startswith("#")
        ]
    except csv.Error as exc:
        raise AtomisticsError(f"{path}: not a readable CSV file ({exc}).") from None
    if len(rows) < 2:
        raise AtomisticsError(f"{path}: needs a header line and at least one data row")
    headers = []
    for h in rows[0]:
        m = _HEADER.match(h)
        headers.append(
            (m.group("name").strip().lower(), (m.group("unit") or "").strip())
            if m
            else (h.lower(), "")
        )
    for k, r in enumerate(rows[1:], start=1):
        if len(r) != len(rows[0]):
            raise AtomisticsError(
                f"{path}: data row {k} has {len(r)} values, the header names {len(rows[0])} "
                "columns: fix or remove that row"
            )
    try:
        data = np.array([[float(v) for v in r] for r in rows[1:]], dtype=float)
    except ValueError as exc:
        raise AtomisticsError(f"{path}: non-numeric value in the data ({exc})") from None
    if data.ndim != 2 or data.shape[1] != len(headers):
        raise AtomisticsError(f"{path}: every row must have {len(headers)} values")
    if not np.isfinite(data).all():
        row, col = np.argwhere(~np.isfinite(data))[0]
        raise AtomisticsError(
            f"{path}: data row {row + 1}, column {rows[0][col]!r} is {data[row, col]}: every "
            "value must be a finite number (remove or fix that row)."
        )
    out = {}
    for key, (names, kind, default_unit) in wanted.items():
        matches = [i for i, (n, _) in enumerate(headers) if n in names]
        if not matches:
            raise AtomisticsError(
                f"{path}: no column for {key}; name one of {list(names)} with its unit, "
                f"e.g. '{names[0]} [{default_unit or 'unit'}]' (found {[h for h, _ in headers]})"
            )
        i = matches[0]
        unit = headers[i][1] or default_unit
        if not unit:
            raise AtomisticsError(
                f"{path}: column {rows[0][i]!r} needs a unit in brackets, e.g. '{names[0]} [unit]'"
            )
        scale, offset = parse_unit_factor(unit, kind, f"{path}: column {rows[0][i]!r}")
        out[key] = data[:, i] * scale + offset
        if kind == "temperature" and len(out[key]) and out[key].min() <= 0:
            k = int(np.argmin(out[key]))
            check_temperature(
                float(out[key][k]), f"{path}: data row {k + 1}, column {rows[0][i]!r}", data[k, i]
            )
    return out
