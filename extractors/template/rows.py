"""A table row seen as the template sees it: label cells, then value cells.

Works the same whether the row came with placeholder cells for vertical merges (text dumps)
or without them (HTML, DOCX, PDF): the label is every text cell up to the last one that is
not a value, and the values are the cells after it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..document import Cell, Table
from ..result import FieldProvenance, Reading
from .values import Kind, is_value_text, parse_value

# Confidence by how a field was read (see README, "Confidence").
CONF_EXACT = 0.99
CONF_BLANK = 0.97  # a blank cell in a found table is a confident null
CONF_FUZZY_LABEL = 0.75
CONF_REPAIRED = 0.8
CONF_AMBIGUOUS_ROW = 0.45
CONF_GARBLED = 0.2
CONF_ROW_MISSING = 0.3
CONF_TABLE_ABSENT = 0.95  # the report's section is there and empty: the report states nothing
CONF_TABLE_NOT_FOUND = 0.25  # the section has content we could not read as the table

_CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass
class RowView:
    table: Table
    labels: list[Cell]
    values: list[Cell]

    @property
    def label(self) -> str:
        return "".join(c.text for c in self.labels)


def split_row(table: Table, row: list[Cell]) -> RowView:
    boundary = -1
    for i, cell in enumerate(row):
        if cell.text.strip() and not is_value_text(cell.text) and not _damaged_figure(cell):
            boundary = i
    labels = [c for c in row[: boundary + 1] if c.text.strip()]
    return RowView(table, labels, row[boundary + 1:])


def _damaged_figure(cell: Cell) -> bool:
    """An OCR'd cell of a few characters with no Chinese in it ('I', '□', ':1', '1o') is a
    figure the recognizer garbled, not a label: every label of the template is Chinese. Read
    as a value, it is parsed as garbled and flagged, and the row keeps its shape."""
    compact = "".join(cell.text.split())
    return cell.prov.source == "ocr" and len(compact) <= 4 and not _CJK.search(compact)


def table_rows(table: Table) -> list[RowView]:
    return [split_row(table, row) for row in table.rows]


def cell_reading(key: str, cell: Cell, kind: Kind, label: str, exact_label: bool,
                 table: Table, note: str | None = None) -> Reading:
    parsed = parse_value(cell.text, kind)
    prov = FieldProvenance(
        method="table", table=table.id, row=cell.row, col=cell.col, raw=cell.text, label=label,
        page=cell.prov.page, bbox=cell.prov.bbox, source=cell.prov.source, note=note,
        image=cell.prov.image)
    if parsed.status == "garbled":
        prov.note = parsed.reason or f"cell text is not a clean number: {cell.text!r}"
        confidence = CONF_GARBLED
    elif not exact_label:
        confidence = CONF_FUZZY_LABEL
    else:
        confidence = CONF_BLANK if parsed.status == "blank" else CONF_EXACT
    if cell.prov.score is not None:  # OCR: the recognition score bounds what we know
        confidence = min(confidence, cell.prov.score)
    return Reading(key=key, value=parsed.value, confidence=confidence, prov=prov,
                   stated=parsed.stated)


def absent_reading(key: str, confidence: float, note: str) -> Reading:
    return Reading(key=key, value=None, confidence=confidence,
                   prov=FieldProvenance(method="absent", note=note))
