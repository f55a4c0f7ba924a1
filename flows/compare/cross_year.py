"""The cross-year rules of the spec, on a pair of one body's consecutive reports:

    X2  each column c: requests.carried.c (year y) == requests.carry_forward.c (year y−1)
    X3  template 2019 both years, each item of 二 with a change: active.<item>.prev (y)
        == active.<item>.prev + active.<item>.change (y−1)

A null counts as 0, as in the one-report rules (a blank cell of a printed table is 0); a
column or item that neither year prints, not even as a blank cell, is not checked. A failure is blamed on the source when every field involved was read
confidently (confidence ≥ 0.7 and not in the review queue): the two reports disagree. Else
it is blamed on extraction, and the doubtful fields go to the review queue."""

from __future__ import annotations

from dataclasses import dataclass

from extractors.rules import R5_ITEMS, TRUSTED
from extractors.standard_model import APPLICANT_COLUMNS

from .pairing import Pair
from .sources import Report

CHECK_COLUMNS = ("agency", "year", "previous_year", "rule", "scope", "status", "blame", "detail")
REVIEW_COLUMNS = ("agency", "year", "document", "field", "value", "confidence", "reason")


@dataclass
class Check:
    rule: str
    scope: str
    status: str  # pass | fail
    blame: str | None  # source | extraction, on failures
    detail: str
    fields: list[tuple[Report, str]]  # the fields compared, with their reports


def check_pair(pair: Pair) -> list[Check]:
    prev, cur = pair.previous, pair.current
    checks = []
    for c in APPLICANT_COLUMNS:
        checks += _equal("X2", f"column {c}", [(cur, f"requests.carried.{c}")],
                         [(prev, f"requests.carry_forward.{c}")])
    if cur.template == "2019" and prev.template == "2019":
        for item in R5_ITEMS:
            checks += _equal("X3", f"item {item}", [(cur, f"active.{item}.prev")],
                             [(prev, f"active.{item}.prev"), (prev, f"active.{item}.change")])
    return checks


def _value(report: Report, key: str) -> float:
    value = report.fields.get(key)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def _confident(report: Report, key: str) -> bool:
    return report.confidence.get(key, 0.0) >= TRUSTED and key not in report.flagged


def _equal(rule: str, scope: str, left: list[tuple[Report, str]], right: list[tuple[Report, str]]) -> list[Check]:
    involved = left + right
    if not any(r.fields.get(k) is not None or k in r.tabled for r, k in involved):
        return []  # neither year prints it (a blank cell of a printed table counts as 0)
    lhs, rhs = sum(_value(r, k) for r, k in left), sum(_value(r, k) for r, k in right)
    shown = " + ".join(f"{_num(_value(r, k))} ({r.year})" for r, k in right)
    lhs_shown = f"{_num(lhs)} ({left[0][0].year})"
    if lhs == rhs:
        return [Check(rule, scope, "pass", None, f"{lhs_shown} = {shown}", involved)]
    blame = "source" if all(_confident(r, k) for r, k in involved) else "extraction"
    return [Check(rule, scope, "fail", blame, f"{lhs_shown} ≠ {shown}", involved)]


def check_row(pair: Pair, agency: str, check: Check) -> dict:
    return {"agency": agency, "year": pair.current.year, "previous_year": pair.previous.year,
            "rule": check.rule, "scope": check.scope, "status": check.status, "blame": check.blame,
            "detail": check.detail}


def review_rows(agency: str, check: Check) -> list[dict]:
    """The doubtful fields of an extraction-blamed failure, for the review queue."""
    if check.blame != "extraction":
        return []
    return [{"agency": agency, "year": r.year, "document": r.document, "field": k,
             "value": r.fields.get(k), "confidence": r.confidence.get(k),
             "reason": f"{check.rule} {check.scope} fails across years ({check.detail}) and this "
                       "reading is in doubt"}
            for r, k in check.fields if not _confident(r, k)]


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
