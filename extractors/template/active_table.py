"""Table 二: 主动公开政府信息情况 → `active.<item>.<column>`.

Printed as one table or as one small table per 第二十条 item; either way each item is a row
whose label names it and whose cells follow the template's columns for that item.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..result import Reading
from ..standard_model import CHANGE_KEYS, MONEY_KEYS, field_keys
from .labels import ACTIVE_ITEM_PATTERNS, match_label, normalize
from .rows import CONF_AMBIGUOUS_ROW, CONF_TABLE_ABSENT, RowView, absent_reading, cell_reading

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
# A header cell's words → the column it names, for both templates: a later report that keeps
# 2019's columns (本年新制作数量 …, 上一年项目数量 | 本年增/减) is read by what they say.
_HEADER_WORDS = (("制发", "issued"), ("废止", "repealed"), ("现行有效", "in_force"),
                 ("新制作", "made"), ("新公开", "published"), ("公开总数", "total"),
                 ("上一年", "prev"), ("增/减", "change"), ("增减", "change"),
                 ("处理决定", "decisions"), ("收费金额", "amount"), ("采购项目", "projects"),
                 ("采购总金额", "amount"))
_NOT_PRINTED = ("table 二 prints the columns {header} for this item, not this template's "
                "column: the report does not state it")


def is_active_table(rows: list[RowView]) -> bool:
    text = "".join(normalize(c.text) for rv in rows[:3] for c in rv.labels + rv.values)
    items = sum(1 for rv in rows if rv.values and _item(rv.label))
    return items >= 2 or (items >= 1 and ("第二十条" in text or "信息内容" in text))


def _item(label: str) -> str | None:
    if len(normalize(label)) > _MAX_LABEL:
        return None
    match = match_label(label, ACTIVE_ITEM_PATTERNS)
    return match.key if match and match.exact else None


@dataclass(frozen=True)
class _Header:
    columns: list[str]  # the column each header cell names
    printed: str  # the header cells as printed, for notes


def _header(rv: RowView) -> _Header | None:
    """The columns a header row (信息内容 | 本年制发件数 | …) names, when it names each."""
    cells = [normalize(c.text) for c in rv.labels + rv.values if c.text.strip()]
    if len(cells) < 2 or "信息内容" not in cells[0]:
        return None
    columns = [next((col for word, col in _HEADER_WORDS if word in cell), None) for cell in cells[1:]]
    return _Header(columns, " | ".join(cells[1:])) if all(columns) else None


def _header_readings(item: str, template: str, header: _Header, rv: RowView) -> dict[str, Reading] | None:
    """An item's cells under a header of the other template's columns: each cell goes to the
    column its header names where this template has it (处理决定数量 is 2021's 本年处理决定
    数量 too); the template's columns the header lacks are not stated, and no cell is moved
    into them by position. None where the header is this template's own (read as usual)."""
    columns = COLUMNS[template][item]
    cells = rv.values
    while len(cells) > len(header.columns) and not cells[-1].text.strip():
        cells = cells[:-1]  # the blank rest of a cell stretched over the table's width
    if header.columns == list(columns) or len(cells) != len(header.columns):
        return None
    out: dict[str, Reading] = {}
    for column, cell in zip(header.columns, cells):
        if column in columns:
            key = f"active.{item}.{column}"
            kind = "money" if key in MONEY_KEYS else "change" if key in CHANGE_KEYS else "count"
            out[key] = cell_reading(key, cell, kind, rv.label, True, rv.table)
    for column in columns:
        key = f"active.{item}.{column}"
        if key not in out:
            out[key] = absent_reading(key, CONF_TABLE_ABSENT, _NOT_PRINTED.format(header=header.printed))
    return out


def read_active(tables: list[list[RowView]], template: str) -> dict[str, Reading]:
    readings: dict[str, Reading] = {}
    valid = set(field_keys(template))
    for rows in tables:
        header = None
        for rv in rows:
            header = _header(rv) or header
            item = _item(rv.label)
            if item is None or not rv.values or item not in COLUMNS[template]:
                continue
            if any(k.startswith(f"active.{item}.") for k in readings):
                continue
            by_header = _header_readings(item, template, header, rv) if header else None
            if by_header is not None:
                readings.update(by_header)
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
