"""The results database's reports grouped by body and year (flows.duplicates), kept in its
report_groups table: each grouped report's group, role and primary, and the review items of
the fields another report of its group prints otherwise. The grouping is made again, whole,
after each store, since a report saved now can change the primary of a group saved before.

What a report is read from here is what the database holds of its extraction: its table
fields, its own agency and year (meta.*; else the record's, which `run` takes from the
manifest row), its review items (the grouping's own are in report_groups, so they never
weigh in the next choice of a primary), its failing rules by blame and its OCR'd fields.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from itertools import groupby
from operator import itemgetter

from sqlalchemy import Engine, distinct, func, select

from . import duplicates
from .store import fields, report_groups, reports, review_items, rule_results, value_of, writing

_ROWS_PER_FETCH = 10_000


def regroup(engine: Engine, aliases: Mapping[str, str] | None = None) -> dict[str, int]:
    """Group every report the database holds, in place of the last grouping; returns
    duplicates.counts of it."""
    placed = duplicates.place(_members(engine), aliases)
    rows = [{"report_id": int(rid), "group_key": p.group, "role": p.role, "primary_id": int(p.primary),
             "review": json.dumps([i.model_dump() for i in p.review_items()], ensure_ascii=False)}
            for rid, p in placed.items()]
    with writing(engine) as conn:
        conn.execute(report_groups.delete())
        if rows:
            conn.execute(report_groups.insert(), rows)
    return duplicates.counts((p.group, p.role) for p in placed.values())


def _members(engine: Engine) -> Iterator[duplicates.Member]:
    ok = reports.c.status == "ok"
    with engine.connect() as conn:
        failures: dict[int, Counter] = defaultdict(Counter)
        for rid, blame, n in conn.execute(
                select(rule_results.c.report_id, rule_results.c.blame, func.count())
                .where(rule_results.c.status == "fail").group_by(rule_results.c.report_id, rule_results.c.blame)):
            failures[rid][blame] += n
        flagged = dict(conn.execute(select(review_items.c.report_id, func.count(distinct(review_items.c.field)))
                                    .group_by(review_items.c.report_id)).tuples().all())
        record = {r.id: r for r in conn.execute(
            select(reports.c.id, reports.c.document, reports.c.sha256, reports.c.agency, reports.c.year).where(ok))}
        rows = conn.execution_options(yield_per=_ROWS_PER_FETCH).execute(
            select(fields.c.report_id, fields.c.key, fields.c.value_num, fields.c.value_text, fields.c.source)
            .select_from(fields.join(reports)).where(ok).order_by(fields.c.report_id))
        for rid, found in groupby(rows, key=itemgetter(0)):
            found = list(found)
            values = {key: value_of(key, num, text) for _, key, num, text, _ in found}
            report = record[rid]
            member = duplicates.Member.read(
                str(rid), report.document, report.sha256, values.get("meta.agency") or report.agency,
                values.get("meta.year") or report.year, values,
                extraction_failures=failures[rid]["extraction"], flagged=flagged.get(rid, 0),
                ocr=sum(1 for *_, source in found if source == "ocr"), source_failures=failures[rid]["source"])
            if member:
                yield member
