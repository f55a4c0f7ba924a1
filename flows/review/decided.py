"""Decisions taken many at a time or taken back: a failed rule the report itself prints,
decided once for every field of it; the list of decided fields; undo.

An undo is a decision row too (action "undo"): the audit trail keeps the decision undone
and the undo, and the field is open again (queue.latest_decisions).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Engine, select

from ..store import decisions, rule_results, writing
from .queue import DECIDING, UNDO, Decision, Item, latest_decisions, record


class NoSuchRule(ValueError):
    """The report has no failed rule of that name and scope."""


@dataclass(frozen=True)
class DecidedField:
    item: Item
    decision: Decision


def decide_rule(engine: Engine, report_id: int, rule: str, scope: str, reviewer: str,
                note: str | None = None) -> list[str]:
    """Record "the report prints this error" (source_error) for each field of a failed rule
    not decided yet; a field a reviewer already decided keeps that decision. Returns the
    fields decided now."""
    with engine.connect() as conn:
        keys = conn.execute(select(rule_results.c.fields).where(
            rule_results.c.report_id == report_id, rule_results.c.rule == rule,
            rule_results.c.scope == scope, rule_results.c.status == "fail")).scalar_one_or_none()
    if keys is None:
        raise NoSuchRule(f"report {report_id} has no failed {rule} ({scope})")
    decided = latest_decisions(engine, report_id)
    todo = [k for k in json.loads(keys)
            if decided.get((report_id, k)) is None or decided[(report_id, k)].action not in DECIDING]
    for key in todo:
        record(engine, report_id, key, "source_error", reviewer, note=note or f"{rule} ({scope}) as printed")
    return todo


def undo(engine: Engine, report_id: int, key: str, reviewer: str) -> bool:
    """Take back the field's decision; False when it has none to take back."""
    made = latest_decisions(engine, report_id).get((report_id, key))
    if made is None or made.action not in DECIDING:
        return False
    with writing(engine) as conn:
        conn.execute(decisions.insert().values(report_id=report_id, field=key, action=UNDO, reviewer=reviewer,
                                               decided_at=datetime.now(timezone.utc),
                                               note=f"undid {made.action} by {made.reviewer}"))
    return True


def decided_fields(engine: Engine, items: list[Item]) -> list[DecidedField]:
    """The queue's fields that hold a decision now, the latest decided first."""
    latest = latest_decisions(engine)
    found = [DecidedField(i, latest[(i.report_id, i.field)]) for i in items
             if (i.report_id, i.field) in latest and latest[(i.report_id, i.field)].action in DECIDING]
    return sorted(found, key=lambda d: d.decision.decided_at, reverse=True)
