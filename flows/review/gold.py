"""Fully reviewed reports as gold labels in the spec's format (one JSON file per document),
ready for `nianbao eval --gold`.

A report is fully reviewed when it had flagged fields and every one of them has a decision
other than a skip: its unflagged fields are what the pipeline trusts, its flagged ones are a
person's. A report nobody was asked about is not gold. Its `source_errors` are the rule
failures a reviewer put on the report itself: a field of the failure marked as a source
error, or a failure the pipeline blamed on the source with none of its fields corrected
(the reviewer saw it and let the printed figures stand).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path, PurePath

from sqlalchemy import Engine, select

from extractors.standard_model import OLDER_OTHER_KEYS, field_keys, prints_older_other

from ..outputs import write_text_atomic
from ..store import fields, reports, rule_results, value_of
from .queue import DECIDING, UNDECIDED, Decision, Item, latest_decisions


def fully_reviewed(items: list[Item], decided: dict[tuple[int, str], Decision]) -> list[int]:
    flagged: dict[int, list[str]] = defaultdict(list)
    for item in items:
        flagged[item.report_id].append(item.field)
    return sorted(rid for rid, keys in flagged.items()
                  if all(decided.get((rid, k), UNDECIDED).action in DECIDING for k in keys))


def gold_record(engine: Engine, report_id: int, decided: dict[tuple[int, str], Decision]) -> dict | None:
    """The gold label of one report; None if it is not a report of a known template."""
    with engine.connect() as conn:
        report = conn.execute(select(reports.c.document, reports.c.template)
                              .where(reports.c.id == report_id)).one()
        machine = {r.key: value_of(r.key, r.value_num, r.value_text) for r in conn.execute(
            select(fields.c.key, fields.c.value_num, fields.c.value_text).where(fields.c.report_id == report_id))}
        failed = conn.execute(select(rule_results).where(rule_results.c.report_id == report_id,
                                                         rule_results.c.status == "fail")).all()
    if report.template not in ("2019", "2021"):
        return None
    mine = {k: d for (rid, k), d in decided.items() if rid == report_id and d.action in DECIDING}
    keys = field_keys(report.template)
    if prints_older_other(report.template, machine):  # the spec: gold lists requests.other.* too
        keys += OLDER_OTHER_KEYS
    values = {key: mine[key].value if key in mine else machine.get(key) for key in keys}
    source_errors = []
    for rule in failed:
        keys = json.loads(rule.fields)
        marked = [k for k in keys if k in mine and mine[k].action == "source_error"]
        corrected = any(k in mine and mine[k].action == "correct" for k in keys)
        if marked or (rule.blame == "source" and not corrected):
            notes = [mine[k].note for k in marked if mine[k].note]
            source_errors.append({"rule": rule.rule, "fields": keys,
                                  "note": "; ".join([f"{rule.scope}: {rule.detail}", *notes])})
    return {"document": report.document, "template": report.template, "fields": values,
            "source_errors": source_errors}


def export_gold(engine: Engine, items: list[Item], folder: Path) -> list[Path]:
    """Write the gold file of every fully reviewed report into `folder`; returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    decided = latest_decisions(engine)
    written, names = [], set()
    for rid in fully_reviewed(items, decided):
        record = gold_record(engine, rid, decided)
        if record is None:
            continue
        name = PurePath(record["document"]).stem
        if name in names:  # two reports of one file name: keep both
            name = f"{name}~{rid}"
        names.add(name)
        path = folder / f"{name}.json"
        write_text_atomic(path, json.dumps(record, ensure_ascii=False, indent=2) + "\n")
        written.append(path)
    return written
