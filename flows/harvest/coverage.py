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
from .raw_store import RawStore

COVERAGE_COLUMNS = ("agency", "year", "url", "outcome", "reason", "reports", "sha256")
OUTCOMES = ("found", "no report listed", "fetch failed", "not a report", "year mismatch",
            "agency mismatch", "duplicate", "no report found", "not crawled")
YIELDED = ("found", "agency mismatch")  # a report taken for the row
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


def mark_not_reports(entries: list[dict], statuses: dict[str, str]) -> None:
    """After extraction: a row whose every report was read as no report (`statuses`: sha256 →
    the document's status) is `not a report`."""
    for entry in entries:
        shas = entry["sha256"].split()
        if entry["outcome"] in YIELDED and shas and all(statuses.get(s) == "not_a_report" for s in shas):
            entry["outcome"] = "not a report"
            entry["reason"] = "what was fetched holds no report's template tables or headings"


def counts(entries: list[dict]) -> dict[str, int]:
    counted = Counter(e["outcome"] for e in entries)
    return {outcome: counted[outcome] for outcome in OUTCOMES if counted[outcome]}


def yielded(entries: list[dict]) -> bool:
    """Did any row give a report?"""
    return any(e["outcome"] in YIELDED for e in entries)


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
