"""The review queue: flagged fields in priority order (fields in failed rules first, then the
least confident), what a reviewer needs to decide on one, and the decisions.

Decisions are an audit trail: every one is a new row (action, value, reviewer, time, the
machine's value when decided); the machine's own values in `fields` are never changed. A
field's reviewed value is its latest decision other than a skip.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field as dc_field
from datetime import datetime, timezone

from sqlalchemy import Engine, select

from extractors.result import FieldProvenance
from extractors.standard_model import MONEY_KEYS, is_numeric_key, section_of
from extractors.template.values import MAX_DIGITS, in_range

from ..store import decisions, fields, report_groups, reports, review_items, rule_results, value_of, writing

ACTIONS = ("accept", "correct", "source_error", "skip")
DECIDING = ("accept", "correct", "source_error")  # a skip leaves the field open
UNDO = "undo"  # a row that cancels the field's earlier decisions (they stay in the trail)


class BadValue(ValueError):
    """A corrected value that does not fit the field (a count that is not a whole number...)."""


@dataclass(frozen=True)
class Item:
    """One flagged field of one report."""
    report_id: int
    field: str
    document: str
    reasons: tuple[str, ...]
    rules: tuple[str, ...]  # failed rules the field takes part in, e.g. ("R1", "X1")
    confidence: float | None

    @property
    def section(self) -> str:
        return section_of(self.field)

    def sort_key(self) -> tuple:
        return (0 if self.rules else 1, self.confidence if self.confidence is not None else 0.0,
                self.report_id, self.field)


@dataclass(frozen=True)
class Filters:
    report: int | None = None
    section: str | None = None
    rule: str | None = None
    reason: str | None = None  # a part of the reason's text

    def admit(self, item: Item) -> bool:
        return ((self.report is None or item.report_id == self.report)
                and (self.section is None or item.section == self.section)
                and (self.rule is None or self.rule in item.rules)
                and (self.reason is None or any(self.reason in r for r in item.reasons)))


@dataclass
class Decision:
    action: str
    value: int | float | str | None
    reviewer: str
    decided_at: datetime
    note: str | None = None


@dataclass
class FieldView:
    """Everything the page of one field shows."""
    item: Item
    report: dict
    value: int | float | str | None
    provenance: dict
    failed_rules: list[dict]  # rule, scope, detail, blame, fields: [(key, value, reviewed value)]
    history: list[Decision] = dc_field(default_factory=list)

    def field_provenance(self) -> FieldProvenance:
        """The stored provenance as the extractor's record, for the evidence functions."""
        p = self.provenance
        return FieldProvenance(method=p.get("method") or "absent", table=p.get("table_id"), row=p.get("row"),
                               col=p.get("col"), raw=p.get("raw"), label=p.get("label"), page=p.get("page"),
                               bbox=p.get("bbox"), source=p.get("source") or "native", note=p.get("note"),
                               image=p.get("image"))


UNDECIDED = Decision("", None, "", datetime.min)


def load_items(engine: Engine) -> list[Item]:
    """Every flagged field, in priority order."""
    reasons: dict[tuple[int, str], list[str]] = defaultdict(list)
    in_rules: dict[tuple[int, str], set[str]] = defaultdict(set)
    with engine.connect() as conn:
        for rid, key, reason in conn.execute(select(review_items.c.report_id, review_items.c.field,
                                                    review_items.c.reason)):
            reasons[(rid, key)].append(reason)
        # fields another report of the same body and year prints otherwise (flows.groups_db)
        for rid, review in conn.execute(select(report_groups.c.report_id, report_groups.c.review)):
            for item in json.loads(review):
                reasons[(rid, item["field"])].append(item["reason"])
        for rid, rule, keys in conn.execute(select(rule_results.c.report_id, rule_results.c.rule,
                                                   rule_results.c.fields)
                                            .where(rule_results.c.status == "fail")):
            for key in json.loads(keys):
                in_rules[(rid, key)].add(rule)
        documents = dict(conn.execute(select(reports.c.id, reports.c.document)).tuples().all())
        confidence = {(rid, key): conf for rid, key, conf in conn.execute(
            select(fields.c.report_id, fields.c.key, fields.c.confidence).where(fields.c.flagged))}
    items = [Item(rid, key, documents[rid], tuple(rs), tuple(sorted(in_rules.get((rid, key), ()))),
                  confidence.get((rid, key)))
             for (rid, key), rs in reasons.items()]
    return sorted(items, key=Item.sort_key)


def latest_decisions(engine: Engine, report_id: int | None = None) -> dict[tuple[int, str], Decision]:
    """(report id, field) → its reviewed state: the latest deciding action, or else the latest
    skip."""
    query = select(decisions).order_by(decisions.c.id)
    if report_id is not None:
        query = query.where(decisions.c.report_id == report_id)
    latest: dict[tuple[int, str], Decision] = {}
    with engine.connect() as conn:
        for row in conn.execute(query):
            key = (row.report_id, row.field)
            if row.action == UNDO:
                latest.pop(key, None)  # open again, as if never decided
                continue
            if row.action == "skip" and key in latest and latest[key].action != "skip":
                continue  # a skip after a decision changes nothing
            latest[key] = Decision(row.action, value_of(row.field, row.value_num, row.value_text),
                                   row.reviewer, row.decided_at, row.note)
    return latest


def open_items(items: list[Item], decided: dict[tuple[int, str], Decision], filters: Filters) -> list[Item]:
    """The items still to decide under `filters`, skipped ones after the rest."""
    todo = [i for i in items if filters.admit(i)
            and decided.get((i.report_id, i.field), UNDECIDED).action not in DECIDING]
    return sorted(todo, key=lambda i: decided.get((i.report_id, i.field), UNDECIDED).action == "skip")



def parse_value(key: str, text: str) -> int | float | str | None:
    """A value as a reviewer types it, in the standard model's terms: empty is null (the report
    does not state it); counts are whole numbers, money (万元) may have decimals."""
    text = text.strip()
    if not text:
        return None
    if key == "meta.year":
        if not text.isdigit() or len(text) != 4:
            raise BadValue(f"{key}: a year is four digits, not {text!r}")
        return int(text)
    if not is_numeric_key(key):
        return text
    try:
        number = float(text.replace(",", ""))
    except ValueError:
        raise BadValue(f"{key}: {text!r} is not a number") from None
    if not math.isfinite(number):
        raise BadValue(f"{key}: {text!r} is not a number")
    if not in_range(number):
        raise BadValue(f"{key}: {text!r} has more than {MAX_DIGITS} digits, more than the dataset holds")
    if key in MONEY_KEYS:
        return number
    if not number.is_integer():
        raise BadValue(f"{key}: a count is a whole number, not {text!r}")
    return int(number)


def record(engine: Engine, report_id: int, key: str, action: str, reviewer: str,
           value: int | float | str | None = None, note: str | None = None) -> None:
    """Store a decision. accept and source_error keep the machine's value as the reviewed one
    (a source error is printed in the report: the dataset keeps what the report says)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    with writing(engine) as conn:
        row = conn.execute(select(fields.c.value_num, fields.c.value_text)
                           .where(fields.c.report_id == report_id, fields.c.key == key)).one_or_none()
        machine = value_of(key, *row) if row else None
        reviewed = value if action == "correct" else machine if action != "skip" else None
        conn.execute(decisions.insert().values(
            report_id=report_id, field=key, action=action, reviewer=reviewer,
            decided_at=datetime.now(timezone.utc), note=note or None,
            **_columns(reviewed, "value"), **_columns(machine, "machine")))


def field_view(engine: Engine, item: Item) -> FieldView:
    with engine.connect() as conn:
        report = conn.execute(select(reports).where(reports.c.id == item.report_id)).one()._asdict()
        values = {r.key: r for r in conn.execute(select(fields).where(fields.c.report_id == item.report_id))}
        failed = conn.execute(select(rule_results).where(rule_results.c.report_id == item.report_id,
                                                         rule_results.c.status == "fail")).all()
        history = conn.execute(select(decisions).where(decisions.c.report_id == item.report_id,
                                                       decisions.c.field == item.field)
                               .order_by(decisions.c.id)).all()
    decided = latest_decisions(engine, item.report_id)
    this = values.get(item.field)

    def shown(key: str) -> tuple[str, object, object]:
        row = values.get(key)
        made = decided.get((item.report_id, key))
        return (key, value_of(key, row.value_num, row.value_text) if row else None,
                made.value if made and made.action in DECIDING else None)

    rules = [{"rule": r.rule, "scope": r.scope, "detail": r.detail, "blame": r.blame,
              "fields": [shown(k) for k in json.loads(r.fields)]}
             for r in failed if item.field in json.loads(r.fields)]
    provenance = {c: getattr(this, c) for c in ("method", "page", "table_id", "row", "col", "raw", "label",
                                                 "bbox", "image", "source", "note")} if this else {}
    if provenance.get("bbox"):
        provenance["bbox"] = tuple(json.loads(provenance["bbox"]))
    return FieldView(item, report, value_of(item.field, this.value_num, this.value_text) if this else None,
                     provenance, rules,
                     [Decision(h.action, value_of(h.field, h.value_num, h.value_text), h.reviewer, h.decided_at,
                               h.note) for h in history])


def _columns(value, prefix: str) -> dict:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return {f"{prefix}_num": float(value) if number else None,
            f"{prefix}_text": value if isinstance(value, str) else None}
