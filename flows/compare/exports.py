"""compare's tables as files: each as CSV (spreadsheet-safe as flows.outputs.CsvWriter's, an
empty cell for none, UTF-8 with a BOM) and Parquet (typed), written row by row as bodies are
compared and renamed into place whole (atomic_open) when all are written. A row travels as a
tuple in its table's column order, typed once (`typed_row`) for every sink."""

from __future__ import annotations

import csv
from collections.abc import Callable
from contextlib import ExitStack, closing
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..outputs import atomic_open, spreadsheet_cell
from .changes import CHANGE_COLUMNS
from .cross_year import CHECK_COLUMNS, REVIEW_COLUMNS
from .measures import MEASURE_COLUMNS, MEASURES
from .pairing import PAIR_COLUMNS
from .reuse import REUSE_COLUMNS

_S, _I, _F = pa.string(), pa.int64(), pa.float64()
_TYPES = {"year": _I, "previous_year": _I, "reuse": _F, "previous": _F, "current": _F, "change": _F,
          "relative_change": _F, "confidence": _F, **{m: _F for m in MEASURES}}
TABLES = {"pairs": PAIR_COLUMNS, "checks": CHECK_COLUMNS, "review": REVIEW_COLUMNS,
          "reuse": REUSE_COLUMNS, "changes": CHANGE_COLUMNS, "measures": MEASURE_COLUMNS}
SCHEMAS = {name: pa.schema([(c, _TYPES.get(c, _S)) for c in columns]) for name, columns in TABLES.items()}
_BATCH = 20_000
# UTF-8 with a byte-order mark: Excel reads a CSV without one in the system's code page
# (GBK on Chinese Windows). Read them with encoding="utf-8-sig".
CSV_ENCODING = "utf-8-sig"


def _converter(type_: pa.DataType) -> Callable:
    kind = str if pa.types.is_string(type_) else float if pa.types.is_floating(type_) else int
    return lambda v: None if v is None else kind(v)


_CONVERT = {name: [(f.name, _converter(f.type)) for f in schema] for name, schema in SCHEMAS.items()}


def typed_row(name: str, row: dict) -> tuple:
    """`row` as table `name` holds it: its columns in order, each of the column's type."""
    return tuple(convert(row.get(column)) for column, convert in _CONVERT[name])


class Files:
    """Every table's CSV and Parquet in `folder`; use as a context manager."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.stack = ExitStack()
        self.csv: dict = {}
        self.parquet: dict[str, pq.ParquetWriter] = {}
        self.rows: dict[str, list[tuple]] = {name: [] for name in TABLES}

    def __enter__(self) -> Files:
        for name, columns in TABLES.items():
            fh = self.stack.enter_context(atomic_open(self.folder / f"{name}.csv", "w", encoding=CSV_ENCODING,
                                                      newline=""))
            self.csv[name] = csv.writer(fh)
            self.csv[name].writerow(columns)
            sink = self.stack.enter_context(atomic_open(self.folder / f"{name}.parquet", "wb"))
            self.parquet[name] = self.stack.enter_context(closing(pq.ParquetWriter(sink, SCHEMAS[name])))
        return self

    def add(self, name: str, row: tuple) -> None:
        self.csv[name].writerow([cell(v) for cell, v in zip(_CELLS[name], row)])
        self.rows[name].append(row)
        if len(self.rows[name]) >= _BATCH:
            self._flush(name)

    def _flush(self, name: str) -> None:
        if self.rows[name]:
            schema = SCHEMAS[name]
            self.parquet[name].write_batch(pa.record_batch(
                [pa.array(list(column), f.type) for column, f in zip(zip(*self.rows[name]), schema)],
                schema=schema))
            self.rows[name] = []

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            for name in TABLES:
                self._flush(name)
        self.stack.__exit__(kind, value, traceback)


def _number_cell(value) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"


# Text goes through spreadsheet_cell (flows.outputs.CsvWriter's rule: no cell a spreadsheet
# would run as a formula); numbers need no such care, and are most of the cells.
_CELLS = {name: [spreadsheet_cell if pa.types.is_string(f.type) else _number_cell for f in schema]
          for name, schema in SCHEMAS.items()}
