"""Reports grouped by body, and each year paired with the year before it. A body's years
with a gap between them are not paired across it (a 2021 report is no check on 2023's
上年结转); the gap is said in the pairs table. Two reports of one body and year (a reprint,
a report named two ways) keep the better read one: fewer flagged fields, then the higher
mean confidence."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from extractors.agency import group_bodies, key as name_key

from .sources import Report


@dataclass
class Pair:
    body: str  # the body's canonical key
    previous: Report
    current: Report


@dataclass
class Body:
    key: str  # canonical key (extractors.agency)
    name: str  # its fullest name, as last used
    names: list[str]  # every name its reports use
    reports: dict[int, Report]  # year → the report compared
    pairs: list[Pair] = field(default_factory=list)
    notes: list[dict] = field(default_factory=list)  # rows of pairs.csv that are no pair


PAIR_COLUMNS = ("agency", "year", "previous_year", "status", "document", "previous_document", "detail")


def pair_reports(reports: list[Report], aliases: Mapping[str, str] | None = None) -> list[Body]:
    """Bodies in the order of their names, each with its reports, pairs and notes."""
    body_of = group_bodies((r.agency for r in reports), aliases)
    grouped: dict[str, list[Report]] = defaultdict(list)
    for report in reports:
        grouped[body_of[report.agency]].append(report)
    bodies = [_body(k, group) for k, group in grouped.items()]
    return sorted(bodies, key=lambda b: (b.name, b.key))


def _body(key: str, group: list[Report]) -> Body:
    by_year: dict[int, list[Report]] = defaultdict(list)
    for report in group:
        by_year[report.year].append(report)
    # shown by its fullest name (the one its key comes from) as last used, not by a short form
    fullest = [r for r in group if name_key(r.agency) == key] or group
    shown = max(fullest, key=lambda r: (r.year, r.document)).agency
    body = Body(key, shown, sorted({r.agency for r in group}), {})
    for year in sorted(by_year):
        kept, *others = sorted(by_year[year], key=_quality)
        body.reports[year] = kept
        for other in others:
            body.notes.append(_note(body, year, None, "duplicate", other.document, None,
                                    f"another report of {year} ({kept.document}) is compared instead"))
    years = sorted(body.reports)
    if years:
        first = body.reports[years[0]]
        body.notes.append(_note(body, years[0], None, "first", first.document, None,
                                f"the body's first year here: no year {years[0] - 1} to compare with"))
    for prev, year in zip(years, years[1:]):
        current, previous = body.reports[year], body.reports[prev]
        if year - prev == 1:
            body.pairs.append(Pair(key, previous, current))
            body.notes.append(_note(body, year, prev, "paired", current.document, previous.document, ""))
        else:
            missing = ", ".join(str(y) for y in range(prev + 1, year))
            body.notes.append(_note(body, year, None, "gap", current.document, previous.document,
                                    f"no report of {missing}: {year} is not compared with {prev}"))
    return body


def _quality(report: Report) -> tuple:
    mean = sum(report.confidence.values()) / len(report.confidence) if report.confidence else 0.0
    return (len(report.flagged), -mean, report.document)


def _note(body: Body, year: int, previous_year: int | None, status: str, document: str,
          previous_document: str | None, detail: str) -> dict:
    return {"agency": body.name, "year": year, "previous_year": previous_year, "status": status,
            "document": document, "previous_document": previous_document, "detail": detail}
