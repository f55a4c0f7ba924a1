"""The generator's own rule checker: the oracle that decides a synthetic report's source_errors.

Kept apart from the pipeline's checks on purpose, so that gold does not inherit their bugs.
"""

from __future__ import annotations

from dataclasses import dataclass

from extractors.standard_model import (
    APPEAL_GROUPS, APPEAL_PARTS, APPLICANT_COLUMNS, APPLICANTS, CHANGE_KEYS, is_numeric_key,
    prints_older_other, request_rows, result_rows,
)


@dataclass
class Claim:
    """A figure the prose states: `value` is said to equal the sum of `fields` (rule X1)."""
    fields: tuple[str, ...]
    value: int
    label: str  # what the prose calls it, for notes


@dataclass
class Violation:
    rule: str
    fields: list[str]  # every field taking part in the broken equation
    note: str


def _n(fields: dict[str, object], key: str) -> float:
    value = fields.get(key)
    return 0 if value is None else value  # type: ignore[return-value]


def violations(fields: dict[str, object], template: str, claims: list[Claim],
               this_year: dict[str, int]) -> list[Violation]:
    """Every rule violation in a report: `this_year` maps an item (e.g. active.licensing)
    to the count printed in its 本年增/减 cell, like 252 in 252（减18）."""
    found: list[Violation] = []
    req = "requests.{}.{}".format
    older = prints_older_other(template, fields)
    for c in APPLICANT_COLUMNS:
        keys = [req("new", c), req("carried", c), req("total", c), req("carry_forward", c)]
        left = _n(fields, keys[0]) + _n(fields, keys[1])
        right = _n(fields, keys[2]) + _n(fields, keys[3])
        if left != right:
            found.append(Violation("R1", keys, f"column {c}: 一+二 = {left}, 三（七）+四 = {right}"))
    for c in APPLICANT_COLUMNS:
        parts = [req(r, c) for r in result_rows(template, older)]
        total = _n(fields, req("total", c))
        summed = sum(_n(fields, k) for k in parts)
        if total != summed:
            found.append(Violation("R2", [req("total", c), *parts],
                                   f"column {c}: 三（七）总计 is {total}, result rows sum to {summed}"))
    for r in request_rows(template, older):
        parts = [req(r, c) for c in APPLICANTS]
        total = _n(fields, req(r, "total"))
        summed = sum(_n(fields, k) for k in parts)
        if total != summed:
            found.append(Violation("R3", [req(r, "total"), *parts],
                                   f"row {r}: 总计 is {total}, applicant columns sum to {summed}"))
    for g in APPEAL_GROUPS:
        parts = [f"{g}.{p}" for p in APPEAL_PARTS]
        total = _n(fields, f"{g}.total")
        summed = sum(_n(fields, k) for k in parts)
        if total != summed:
            found.append(Violation("R4", [f"{g}.total", *parts],
                                   f"{g}: 总计 is {total}, parts sum to {summed}"))
    for item, count in this_year.items():
        prev, change = _n(fields, f"{item}.prev"), _n(fields, f"{item}.change")
        if prev + change != count:
            found.append(Violation("R5", [f"{item}.prev", f"{item}.change"],
                                   f"{item}: printed {count}, but prev {prev} + change {change} = "
                                   f"{prev + change}"))
    for key, value in fields.items():
        if is_numeric_key(key) and key not in CHANGE_KEYS and value is not None and value < 0:
            found.append(Violation("R6", [key], f"{key} is negative: {value}"))
    for claim in claims:
        table = sum(_n(fields, k) for k in claim.fields)
        if table != claim.value:
            found.append(Violation("X1", list(claim.fields),
                                   f"prose says {claim.label}{claim.value}; table says {table}"))
    return found
