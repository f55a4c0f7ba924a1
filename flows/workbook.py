"""The output folder as one Excel workbook (nianbao.xlsx): sheets reports, fields, rules,
dictionary, rule_dictionary, and coverage where the folder has a coverage.csv.

Written with XlsxWriter from the Parquet files just written beside it, so numbers stay
numbers and text keeps its line breaks (a cell holds them). In constant-memory mode rows go
to disk as they are written, so memory does not grow with the dataset. Excel's own limits
are kept: a table of more rows than a sheet holds goes on in "fields (2)" and so on, and a
text longer than a cell holds is cut with a note (the CSV and Parquet files keep all of it).
Text that a spreadsheet would run as a formula is prefixed with ' as in the CSVs.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq
import xlsxwriter

from extractors.dictionary import FIELD_COLUMNS, RULE_COLUMNS, field_entries, rule_entries

from .tables import FORMULA_START, spreadsheet_cell

NAME = "nianbao.xlsx"
TABLES = ("reports", "fields", "rules")  # each from <name>.parquet in the folder
COVERAGE_CSV = "coverage.csv"

MAX_ROWS = 1_048_576  # per sheet, the header row included
MAX_CHARS = 32_767  # per cell
_CUT = "…［截断：全文见 CSV / Parquet — cut: the full text is in the CSV and Parquet files］"
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?")  # a number in a CSV cell (not a code such as 0012)


def write_workbook(fh: IO[bytes], folder: Path, max_rows: int = MAX_ROWS) -> list[str]:
    """Write the workbook of `folder` into `fh`; returns the names of its sheets."""
    book = xlsxwriter.Workbook(fh, {
        "constant_memory": True,
        # every cell is written as what it is: no text turned into a formula, link or number
        "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
        "remove_timezone": True,  # Excel has no time zones; the stamps are UTC
    })
    writer = _Writer(book, max_rows)
    try:
        for name in TABLES:
            path = folder / f"{name}.parquet"
            if path.is_file():
                parquet = pq.ParquetFile(path)
                schema = parquet.schema_arrow
                writer.sheet(name, schema.names, [writer.cell_for(f.type) for f in schema],
                             (row for batch in parquet.iter_batches() for row in _rows(batch)))
        for name, columns, entries in (("dictionary", FIELD_COLUMNS, field_entries()),
                                       ("rule_dictionary", RULE_COLUMNS, rule_entries())):
            writer.sheet(name, columns, [writer.text] * len(columns), ([e[c] for c in columns] for e in entries))
        coverage = folder / COVERAGE_CSV
        if coverage.is_file():
            with open(coverage, encoding="utf-8-sig", newline="") as cov:
                rows = csv.reader(cov)
                header = next(rows, [])
                writer.sheet("coverage", header, [writer.csv_cell] * len(header), rows)
    finally:
        book.close()
    return writer.names


def _rows(batch: pa.RecordBatch) -> Iterable[tuple]:
    return zip(*(column.to_pylist() for column in batch.columns))


Cell = Callable[[Any, int, int, Any], None]  # (sheet, row, column, value): one column's writer


class _Writer:
    """Sheets of rows, each column written by the writer of its type (chosen once per column,
    not per cell: a large run's workbook has millions of cells)."""

    def __init__(self, book: xlsxwriter.Workbook, max_rows: int):
        self.book = book
        self.max_rows = max_rows
        self.names: list[str] = []
        self.header = book.add_format({"bold": True})
        self.stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})

    def sheet(self, name: str, header: Sequence[str], cells: Sequence[Cell], rows: Iterable[Sequence]) -> None:
        part, sheet, at = 1, self._new(name, header), 1
        for row in rows:
            if at == self.max_rows:
                part += 1
                sheet, at = self._new(f"{name} ({part})", header), 1
            for col, (cell, value) in enumerate(zip(cells, row)):
                if value is not None:
                    cell(sheet, at, col, value)
            at += 1

    def _new(self, name: str, header: Sequence[str]):
        sheet = self.book.add_worksheet(name)
        self.names.append(name)
        sheet.write_row(0, 0, list(header), self.header)
        sheet.freeze_panes(1, 0)
        return sheet

    def cell_for(self, type_: pa.DataType) -> Cell:
        if pa.types.is_boolean(type_):
            return lambda sheet, row, col, value: sheet.write_boolean(row, col, value)
        if pa.types.is_integer(type_) or pa.types.is_floating(type_):
            return self.number
        if pa.types.is_timestamp(type_):
            return lambda sheet, row, col, value: sheet.write_datetime(row, col, value, self.stamp)
        if pa.types.is_list(type_):
            return lambda sheet, row, col, value: self.text(sheet, row, col, " ".join(value))
        return self.text

    @staticmethod
    def number(sheet, row: int, col: int, value) -> None:
        if math.isfinite(value):
            sheet.write_number(row, col, value)
        else:  # nan, inf: Excel has no such numbers
            sheet.write_string(row, col, str(value))

    @staticmethod
    def text(sheet, row: int, col: int, value: str) -> None:
        if value[:1] in FORMULA_START:
            value = spreadsheet_cell(value)
        if len(value) > MAX_CHARS:
            value = value[:MAX_CHARS - len(_CUT)] + _CUT
        sheet.write_string(row, col, value)

    def csv_cell(self, sheet, row: int, col: int, value: str) -> None:
        if _NUMBER.fullmatch(value):
            sheet.write_number(row, col, float(value))
        elif value:
            self.text(sheet, row, col, value)
