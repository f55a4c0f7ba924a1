"""Table 四: 政府信息公开行政复议、行政诉讼情况 → `review.*`, `suit_direct.*`, `suit_after_review.*`.

The template prints one row of 15 figures under two header rows; some reports print it
transposed, one row per group. Both are read.
"""

from __future__ import annotations

from ..result import Reading
from ..standard_model import APPEAL_COLUMNS, APPEAL_GROUPS
from .labels import normalize
from .rows import RowView, cell_reading

_WIDTH = len(APPEAL_GROUPS) * len(APPEAL_COLUMNS)
_GROUP_WORDS = (("suit_after_review", "复议后起诉"), ("suit_direct", "直接起诉"), ("review", "行政复议"))


def is_appeals_table(rows: list[RowView]) -> bool:
    text = "".join(normalize(c.text) for rv in rows for c in rv.labels)
    # two characters of each word, not four: OCR of a poor picture garbles headers
    # (厅政复议, 行政认询, 结果组持), and no other template table speaks of 复议
    return "复议" in text and ("诉讼" in text or "结果" in text)


def read_appeals(tables: list[list[RowView]]) -> dict[str, Reading]:
    readings: dict[str, Reading] = {}
    for rows in tables:
        for rv in rows:
            label = normalize(rv.label)
            if len(rv.values) >= _WIDTH and not readings:
                cells = rv.values[-_WIDTH:]
                keys = [f"{g}.{c}" for g in APPEAL_GROUPS for c in APPEAL_COLUMNS]
                for key, cell in zip(keys, cells):
                    readings[key] = cell_reading(key, cell, "count", rv.label or "四 values row",
                                                 True, rv.table)
            elif len(rv.values) == len(APPEAL_COLUMNS) and label:
                group = next((g for g, word in _GROUP_WORDS if word in label), None)
                if group and not any(k.startswith(f"{group}.") for k in readings):
                    for column, cell in zip(APPEAL_COLUMNS, rv.values):
                        key = f"{group}.{column}"
                        readings[key] = cell_reading(key, cell, "count", rv.label, True, rv.table)
    return readings

