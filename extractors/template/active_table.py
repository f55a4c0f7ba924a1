"""Table 二: 主动公开政府信息情况 → `active.<item>.<column>`.

Printed as one table or as one small table per 第二十条 item; either way each item is a row
whose label names it and whose cells follow the template's columns for that item.
"""

from __future__ import annotations

from ..result import Reading
from ..standard_model import CHANGE_KEYS, MONEY_KEYS, field_keys
from .labels import ACTIVE_ITEM_PATTERNS, match_label, normalize
from .rows import CONF_AMBIGUOUS_ROW, RowView, cell_reading

# Each item's columns in printed order, per template.
COLUMNS = {
    "2019": {
        "regulations": ("made", "published", "total"),
        "normative": ("made", "published", "total"),
        "licensing": ("prev", "change", "decisions"),
        "other_services": ("prev", "change", "decisions"),
        "penalty": ("prev", "change", "decisions"),
        "coercion": ("prev", "change", "decisions"),
        "fees": ("prev", "change"),
        "procurement": ("projects", "amount"),
    },
    "2021": {
        "regulations": ("issued", "repealed", "in_force"),
        "normative": ("issued", "repealed", "in_force"),
        "licensing": ("decisions",),
        "penalty": ("decisions",),
        "coercion": ("decisions",),
        "fees": ("amount",),
    },
}
_MAX_LABEL = 16  # an item label is short; a long sentence that mentions 行政许可 is not one


def is_active_table(rows: list[RowView]) -> bool:
    text = "".join(normalize(c.text) for rv in rows[:3] for c in rv.labels + rv.values)
    items = sum(1 for rv in rows if rv.values and _item(rv.label))
    return items >= 2 or (items >= 1 and ("第二十条" in text or "信息内容" in text))


def _item(label: str) -> str | None:
    if len(normalize(label)) > _MAX_LABEL:
        return None
    match = match_label(label, ACTIVE_ITEM_PATTERNS)
    return match.key if match and match.exact else None


def read_active(tables: list[list[RowView]], template: str) -> dict[str, Reading]:
    readings: dict[str, Reading] = {}
    valid = set(field_keys(template))
    for rows in tables:
        for rv in rows:
            item = _item(rv.label)
            if item is None or not rv.values or item not in COLUMNS[template]:
                continue
            if any(k.startswith(f"active.{item}.") for k in readings):
                continue
            columns = COLUMNS[template][item]
            cells = rv.values
            note = None
            if len(cells) != len(columns):
                # Blank filler cells from merged layouts are dropped before judging.
                filled = [c for c in cells if c.text.strip()]
                cells = filled if len(filled) == len(columns) else cells[-len(columns):]
                if len(cells) != len(columns):
                    note = f"{len(rv.values)} value cells where {len(columns)} expected"
            for column, cell in zip(columns[len(columns) - len(cells):], cells):
                key = f"active.{item}.{column}"
                if key not in valid:
                    continue
                kind = "money" if key in MONEY_KEYS else "change" if key in CHANGE_KEYS else "count"
                reading = cell_reading(key, cell, kind, rv.label, True, rv.table, note)
                if note:
                    reading.confidence = min(reading.confidence, CONF_AMBIGUOUS_ROW)
                readings[key] = reading
    return readings
