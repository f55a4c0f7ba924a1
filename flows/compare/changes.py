"""Every figure's change from one year to the next, and the moves worth a look:

    magnitude   the figure grew or shrank tenfold or more, the larger side at least 100
    from_zero   0 (or not stated) one year, 1 000 or more the other
    total_falls a total fell while the sum of its parts (the template's own R2/R3/R4
                equations) rose

A count's change is `current − previous`; the relative change divides it by the previous
year's figure (none where that is 0 or not stated). A field 0 or blank in both years has no
row."""

from __future__ import annotations

from extractors.rules import equations
from extractors.standard_model import field_keys, is_numeric_key

from .pairing import Pair

CHANGE_COLUMNS = ("agency", "year", "previous_year", "field", "previous", "current", "change",
                  "relative_change", "flag")
MAGNITUDE, MAGNITUDE_FLOOR = 10, 100
FROM_ZERO = 1000
_ORDER = {k: i for i, k in enumerate(dict.fromkeys(field_keys("2019") + field_keys("2021")))}
_NUMERIC = frozenset(k for k in _ORDER if is_numeric_key(k))  # the figures of either template


def _number(value) -> float | None:
    return value if type(value) in (int, float) else None  # not a bool, not text


def pair_changes(pair: Pair) -> list[dict]:
    """One row per numeric field either year states as a figure other than 0 (most of a
    report's cells are 0 both years: their change is 0, and they would be most of the
    table); the agency is left for the caller to set."""
    prev, cur = pair.previous.fields, pair.current.fields
    keys = sorted({k for k in (*prev, *cur) if k in _NUMERIC and (_number(prev.get(k)) or _number(cur.get(k)))},
                  key=_ORDER.__getitem__)
    falling = _totals_falling(pair)
    rows = []
    for key in keys:
        a, b = _number(prev.get(key)), _number(cur.get(key))
        change = b - a if a is not None and b is not None else None
        relative = change / a if change is not None and a else None
        rows.append({"year": pair.current.year, "previous_year": pair.previous.year, "field": key,
                     "previous": a, "current": b, "change": change, "relative_change": relative,
                     "flag": falling.get(key) or _flag(a, b)})
    return rows


def _flag(a: float | None, b: float | None) -> str:
    lo, hi = sorted((a or 0, b or 0))
    if lo == 0 and hi >= FROM_ZERO:
        return "from_zero" if not a else "to_zero"
    if lo > 0 and hi >= MAGNITUDE_FLOOR and hi / lo >= MAGNITUDE:
        return "magnitude"
    return ""


def _totals_falling(pair: Pair) -> dict[str, str]:
    """Totals that fell while the sum of their parts rose, by the current template's equations."""
    prev, cur = pair.previous.fields, pair.current.fields
    flags = {}
    for rule, _scope, left, right in equations(pair.current.template or "2021"):
        if rule == "R1" or len(left) != 1:
            continue
        total = left[0]
        a, b = _number(prev.get(total)), _number(cur.get(total))
        if a is None or b is None or b >= a:
            continue
        parts_a = sum(_number(prev.get(k)) or 0 for k in right)
        parts_b = sum(_number(cur.get(k)) or 0 for k in right)
        if parts_b > parts_a:
            flags[total] = "total_falls"
    return flags


def largest_moves(rows: list[dict], n: int = 3) -> list[dict]:
    """The flagged moves first, then the largest absolute changes of totals."""
    moved = [r for r in rows if r["change"] or r["flag"]]
    return sorted(moved, key=lambda r: (not r["flag"], -abs(r["change"] or r["current"] or r["previous"] or 0)))[:n]
