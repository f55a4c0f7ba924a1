"""Coverage: every manifest row (agency × year) with what the harvest made of it, so that a
user sees which reports are missing and why, not only which files were fetched.

Outcomes: found; no report listed (the listing names other years only); fetch failed (why);
year mismatch (what led to the file names another year: not taken); agency mismatch (taken,
but it names another body); duplicate (the same file as another row's report); no report
found (nothing on the page was a report); and, once extracted, not a report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from ..outputs import CsvWriter, atomic_open
from .crawl import Row
from .links import same_body
from .raw_store import RawStore

COVERAGE_COLUMNS = ("agency", "year", "url", "outcome", "reason", "reports", "sha256")
OUTCOMES = ("found", "no report listed", "fetch failed", "not a report", "year mismatch",
            "agency mismatch", "duplicate", "no report found", "not crawled")
YIELDED = ("found", "agency mismatch")  # a report taken for the row and found to be one
COVERAGE_CSV = "coverage.csv"
CSV_ENCODING = "utf-8-sig"  # a BOM, as the dataset's CSVs: Excel on Chinese Windows reads it right


def coverage(store: RawStore, rows: Iterable[Row]) -> list[dict]:
    """One dict per manifest row, in the manifest's order."""
    owners = {r["sha256"]: (r["source"], r["agency"], r["year"]) for r in store.reports()}
    found = []
    for row in rows:
        crawl = store.crawl(row) or {}
        shas = list(dict.fromkeys(f["sha256"] for f in store.of_row(row)
                                  if f["role"] == "report" and f["status"] == "ok"))
        key = (row.url, row.agency or "", str(row.year or ""))
        entry = {"agency": row.agency, "year": row.year, "url": row.url,
                 "outcome": crawl.get("outcome") or "not crawled", "reason": crawl.get("reason") or "",
                 "reports": len(shas), "sha256": " ".join(shas)}
        if shas and entry["outcome"] in YIELDED and not any(owners.get(s) == key for s in shas):
            source, agency, year = owners[shas[0]]
            entry["outcome"] = "duplicate"
            entry["reason"] = f"the same file as the report of {agency or '?'} {year or '?'} ({source})"
        found.append(entry)
    return found


def check_extracted(entries: list[dict], facts: dict[str, dict]) -> None:
    """After extraction (`facts`: sha256 → the document's status and the meta.year and
    meta.agency it states): a row whose every report was read as no report is `not a report`;
    one whose report states another year or body than the manifest's row is a mismatch (the
    report stays stored under the row; the reason says what it states)."""
    for entry in entries:
        shas = entry["sha256"].split()
        if entry["outcome"] not in YIELDED or not shas or any(s not in facts for s in shas):
            continue
        read = [facts[s] for s in shas]
        if all(f["status"] == "not_a_report" for f in read):
            entry["outcome"] = "not a report"
            entry["reason"] = "what was fetched holds no report's template tables or headings"
            continue
        own = next((f for f in read if f["status"] == "ok"), read[0])
        if entry["year"] and _year(own.get("year")) and _year(own["year"]) != entry["year"]:
            entry["outcome"] = "year mismatch"
            entry["reason"] = (f"the report states {own['year']}, the manifest {entry['year']} "
                               "(stored under the manifest's year; correct the row if the report is right)")
        elif entry["agency"] and own.get("agency") and not same_body(str(own["agency"]), entry["agency"]):
            entry["outcome"] = "agency mismatch"
            entry["reason"] = f"the report names {own['agency']}, the manifest {entry['agency']}"


def _year(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def counts(entries: list[dict]) -> dict[str, int]:
    counted = Counter(e["outcome"] for e in entries)
    return {outcome: counted[outcome] for outcome in OUTCOMES if counted[outcome]}


def yielded(entries: list[dict]) -> bool:
    """Did any row give a report? (One stored although its own year disagrees counts.)"""
    return any(e["outcome"] in YIELDED or (e["outcome"] == "year mismatch" and e["reports"]) for e in entries)


def write_coverage(entries: list[dict], path: Path) -> Path:
    with atomic_open(path, "w", encoding=CSV_ENCODING, newline="") as fh:
        writer = CsvWriter(fh)
        writer.writerow(COVERAGE_COLUMNS)
        writer.writerows([e[c] for c in COVERAGE_COLUMNS] for e in entries)
    return path


def report_lines(entries: list[dict], limit: int = 50) -> list[str]:
    """The closing summary: the outcomes counted, then each row without a report and why."""
    summary = ", ".join(f"{outcome} {n}" for outcome, n in counts(entries).items())
    lines = [f"coverage: {len(entries)} manifest rows — {summary or 'none'}"]
    missing = [e for e in entries if e["outcome"] != "found"]
    for entry in missing[:limit]:
        lines.append(f"  {entry['agency'] or '(no agency)'} {entry['year'] or '(no year)'}: {entry['outcome']}"
                     + (f" — {entry['reason']}" if entry["reason"] else ""))
    if len(missing) > limit:
        lines.append(f"  … and {len(missing) - limit} more (see coverage.csv)")
    return lines
