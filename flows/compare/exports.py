"""compare's tables as files: each as CSV (flows.outputs.CsvWriter: spreadsheet-safe, an
empty cell for none) and Parquet (typed), written row by row as bodies are compared and
renamed into place whole (atomic_open) when all are written."""

from __future__ import annotations

from contextlib import ExitStack, closing
from functools import cache
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..outputs import CsvWriter, atomic_open
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
_BATCH = 20_000


@cache
def schema(name: str) -> pa.Schema:
    return pa.schema([(c, _TYPES.get(c, _S)) for c in TABLES[name]])


class Files:
    """Every table's CSV and Parquet in `folder`; use as a context manager."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.stack = ExitStack()
        self.csv: dict[str, CsvWriter] = {}
        self.parquet: dict[str, pq.ParquetWriter] = {}
        self.rows: dict[str, list[dict]] = {name: [] for name in TABLES}

    def __enter__(self) -> Files:
        for name, columns in TABLES.items():
            fh = self.stack.enter_context(atomic_open(self.folder / f"{name}.csv", "w", encoding="utf-8",
                                                      newline=""))
            self.csv[name] = CsvWriter(fh)
            self.csv[name].writerow(columns)
            sink = self.stack.enter_context(atomic_open(self.folder / f"{name}.parquet", "wb"))
            self.parquet[name] = self.stack.enter_context(closing(pq.ParquetWriter(sink, schema(name))))
        return self

    def add(self, name: str, row: dict) -> None:
        self.csv[name].writerow(_cell(row.get(c)) for c in TABLES[name])
        self.rows[name].append(row)
        if len(self.rows[name]) >= _BATCH:
            self._flush(name)

    def _flush(self, name: str) -> None:
        if self.rows[name]:
            self.parquet[name].write_table(pa.Table.from_pylist(
                [{c: typed(r.get(c), schema(name).field(c).type) for c in TABLES[name]} for r in self.rows[name]],
                schema=schema(name)))
            self.rows[name] = []

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            for name in TABLES:
                self._flush(name)
        self.stack.__exit__(kind, value, traceback)

    def paths(self) -> list[Path]:
        return [self.folder / f"{n}.{ext}" for n in TABLES for ext in ("csv", "parquet")]


def _cell(value):
    if isinstance(value, float):
        return f"{value:.6g}" if not value.is_integer() else str(int(value))
    return value


def typed(value, type_: pa.DataType):
    if value is None:
        return None
    if pa.types.is_string(type_):
        return str(value)
    return float(value) if pa.types.is_floating(type_) else int(value)
