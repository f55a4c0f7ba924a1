"""Doubtful readings the template's arithmetic leaves no other value (issue 13).

OCR scores a faint 0 or a thin "/" low, and each such cell used to go to review although
the table around it proves it. In an equation of R1–R3 that holds as read, a doubtful cell
whose every other term was read clearly can hold no other value: alone, it is the
difference of the others; with other doubtful cells all read 0 or blank on the same side,
each of them is 0, since counts are never negative (R6). A cell so pinned down by two
equations (its row's R3 and its column's R2 or R1) is taken as confirmed: for it to be
misread, two figures read clearly would have to be misread with it by the same amount.

This never changes a value, and never makes an equation hold: one that fails, a source
error or a misreading, confirms nothing.
"""

from __future__ import annotations

from ..result import Reading
from ..rules import TRUSTED, equations, value_sum
from ..standard_model import prints_older_other
from .values import parse_value

CONF_CONFIRMED = 0.8  # above the review threshold, below a clean reading's
NEEDED = 2  # equations that must each pin the cell down


def confirm_by_arithmetic(readings: dict[str, Reading], template: str) -> None:
    """Raise in place the confidence of doubtful table readings that NEEDED equations of
    R1–R3, holding as read, pin down; their notes say which."""
    eqs = [(rule, scope, left, right)
           for rule, scope, left, right in equations(template, prints_older_other(template, readings))
           if rule in ("R1", "R2", "R3") and all(k in readings for k in left + right)]
    confirmed: set[str] = set()
    while True:
        pinned: dict[str, list[str]] = {}
        for rule, scope, left, right in eqs:
            for key in _pinned(readings, left, right, confirmed):
                pinned.setdefault(key, []).append(f"{rule} ({scope})")
        new = {k: why for k, why in pinned.items() if len(why) >= NEEDED and k not in confirmed}
        if not new:
            return
        for key, why in new.items():
            reading = readings[key]
            reading.confidence = max(reading.confidence, CONF_CONFIRMED)
            note = (f"confirmed by {' and '.join(why)}: the figures around it, read clearly, "
                    "leave it no other value")
            reading.prov.note = f"{reading.prov.note}; {note}" if reading.prov.note else note
            confirmed.add(key)


def _pinned(readings: dict[str, Reading], left: list[str], right: list[str],
            confirmed: set[str]) -> list[str]:
    """The doubtful cells of one equation that it pins down, or none."""
    def doubtful(key: str) -> bool:
        return readings[key].confidence < TRUSTED and key not in confirmed

    terms = left + right
    unsure = [k for k in terms if doubtful(k)]
    if not unsure or not all(_countable(readings[k]) for k in unsure):
        return []
    if value_sum(readings, left) != value_sum(readings, right):
        return []
    if len(unsure) == 1:
        return unsure
    one_side = set(unsure) <= set(left) or set(unsure) <= set(right)
    zeros = all(not readings[k].value for k in unsure)
    return unsure if one_side and zeros else []


def _countable(reading: Reading) -> bool:
    """A figure or a printed blank mark ("/", "-") read from a table cell. A cell OCR could
    not read as either (garbled), or whose ink read as nothing, is no reading to confirm."""
    if reading.prov.method != "table":
        return False
    if isinstance(reading.value, (int, float)) and not isinstance(reading.value, bool):
        return True
    raw = (reading.prov.raw or "").strip()
    return reading.value is None and bool(raw) and parse_value(raw, "count").status == "blank"

