"""compare from SOURCE to DIR, body by body: load the reports, group and pair them, and
for each body check, measure and write its rows and its page at once, so memory holds one
body's work besides the reports; the index and its plots come last."""

from __future__ import annotations

import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

from extractors.agency import load_aliases

from ..outputs import write_summary

from . import report
from .changes import largest_moves, pair_changes
from .cross_year import check_pair, check_row, review_rows
from .exports import Files, typed_row
from .measures import MEASURES, measures
from .pairing import pair_reports
from .reuse import REPORT_SECTION, pair_reuse
from .sources import load
from .tables import Database


def compare(source: str, out: Path, aliases: Path | None = None) -> dict:
    """Compare SOURCE's reports across years into `out`; returns the summary."""
    started = time.perf_counter()
    alias_map = load_aliases(aliases) if aliases else None
    loaded = load(source)
    bodies = pair_reports(loaded.reports, alias_map)
    loaded_at = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    (out / report.BODIES).mkdir(exist_ok=True)
    counts: Counter = Counter()
    rates: dict[tuple[str, str], list[int]] = {}  # (rule, scope) → [checked, failed]
    latest_measures: dict[str, list[float]] = {m: [] for m in MEASURES}
    index_rows, pair_seconds = [], 0.0
    with ExitStack() as stack:
        files = stack.enter_context(Files(out))
        sinks = [files] + ([stack.enter_context(Database(loaded.engine))] if loaded.engine else [])

        def add(table: str, row: dict) -> None:
            values = typed_row(table, row)
            for sink in sinks:
                sink.add(table, values)

        for document, why in loaded.skipped:
            add("pairs", {"status": "not compared", "document": document, "detail": why})
            counts["skipped"] += 1
        for body in bodies:
            for note in body.notes:
                add("pairs", note)
                counts[note["status"]] += 1
            per_year = []
            for year, rep in sorted(body.reports.items()):
                ms = measures(rep)
                per_year.append((year, ms))
                add("measures", {"agency": body.name, "year": year, "document": rep.document, **ms})
            for name, value in per_year[-1][1].items():
                if value is not None:
                    latest_measures[name].append(value)
            pages, failed, moves, reuse_latest = [], 0, [], None
            for pair in body.pairs:
                t0 = time.perf_counter()
                checks = check_pair(pair)
                for check in checks:
                    add("checks", check_row(pair, body.name, check))
                    for row in review_rows(body.name, check):
                        add("review", row)
                    rate = rates.setdefault((check.rule, check.scope), [0, 0])
                    rate[0] += 1
                    rate[1] += check.status == "fail"
                    counts["checks"] += 1
                    if check.status == "fail":
                        counts[f"failed_{check.blame}"] += 1
                        failed += 1
                reuse = pair_reuse(pair.current.fields, pair.previous.fields)
                for part in reuse:
                    if part.reuse is not None:
                        add("reuse", {"agency": body.name, "year": pair.current.year,
                                      "previous_year": pair.previous.year, "section": part.section,
                                      "reuse": part.reuse})
                changes = pair_changes(pair)
                for row in changes:
                    add("changes", {"agency": body.name, **row})
                pair_seconds += time.perf_counter() - t0
                by_section = {p.section: p.reuse for p in reuse}
                reuse_latest, moves = by_section[REPORT_SECTION], largest_moves(changes)
                pages.append({"year": pair.current.year, "previous_year": pair.previous.year,
                              "document": pair.current.document, "previous_document": pair.previous.document,
                              "checks": checks, "reuse": {"report": by_section[REPORT_SECTION]},
                              "sections": report.section_views(pair.current.fields, pair.previous.fields,
                                                               by_section),
                              "changes": changes})
            report.write_body_page(out, body, pages, per_year, list(MEASURES))
            index_rows.append({"name": body.name, "names": body.names, "years": sorted(body.reports),
                               "pairs": len(body.pairs), "reuse": reuse_latest, "failed": failed,
                               "moves": moves, "href": report.body_href(body.key)})
    years = sorted({y for b in bodies for y in b.reports})
    summary = {"source": loaded.label, "reports": len(loaded.reports), "bodies": len(bodies),
               "pairs": counts["paired"], "gaps": counts["gap"], "duplicates": counts["duplicate"],
               "skipped": counts["skipped"], "checks": counts["checks"],
               "failed_source": counts["failed_source"], "failed_extraction": counts["failed_extraction"]}
    failure_items = [(f"{rule} {scope}", failed / checked, f"{failed}/{checked}")
                     for (rule, scope), (checked, failed) in sorted(rates.items())]
    histograms = [report.plots.histogram(values, name) for name, values in latest_measures.items()]
    report.write_index(out, loaded.label, index_rows, summary,
                       [(b.name, set(b.reports)) for b in bodies], years, failure_items, histograms)
    if loaded.engine is not None:
        loaded.engine.dispose()
    done = time.perf_counter()
    summary.update(database=loaded.engine is not None, seconds=done - started, load_seconds=loaded_at - started,
                   pair_seconds=pair_seconds)
    write_summary(out, summary)
    return summary
