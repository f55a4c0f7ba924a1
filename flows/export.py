"""The dataset as files, from the results database, each as CSV (UTF-8, an empty cell for
null, text that a spreadsheet would take for a formula prefixed with ') and Parquet (typed:
numbers as numbers, text as it is):

- fields.csv / fields.parquet, tidy: one row per report and field. Parquet keeps numbers and
  text apart (value_num, value_text); the CSV has them in one `value` column. A field a
  reviewer decided on (`nianbao review`) shows the reviewed value; `origin` says whose it
  is: machine, accepted, corrected or source_error (the report itself is wrong; the value
  is what it prints), and `reviewer` who decided.
- reports.csv / reports.parquet, wide: one row per report, its record and then one column per
  field key of either template (2019's in the spec's order, then those only 2021 has),
  reviewed values where there are any.

One query reads reports with their fields in report order, and both tables are written
from it as it streams: CSV row by row, Parquet in record batches, so memory does not grow
with the database. It is one statement, so the files agree with each other even while
other processes write. Every file is written atomically (flows.outputs.atomic_open).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack, closing
from datetime import datetime, timezone
from itertools import groupby
from operator import itemgetter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine, and_, func, select

from extractors.standard_model import MONEY_KEYS, field_keys, is_numeric_key

from .outputs import CsvWriter, atomic_open
from .store import decisions, fields, reports, value_of

TIDY = "fields"
WIDE = "reports"
_ROWS_PER_FETCH = 10_000
_CELLS_PER_BATCH = 500_000  # per Parquet record batch: ~45 000 tidy rows, ~2 000 wide ones

KEYS = tuple(dict.fromkeys(field_keys("2019") + field_keys("2021")))  # 2019's, then 2021's own
_RANK = {key: i for i, key in enumerate(KEYS)}

_REPORT_TYPES = {
    "sha256": pa.string(), "document": pa.string(), "agency": pa.string(), "year": pa.int64(),
    "url": pa.string(), "final_url": pa.string(), "raw_path": pa.string(), "format": pa.string(),
    "status": pa.string(), "error_code": pa.string(), "error": pa.string(),
    "template": pa.string(), "extractor_version": pa.string(), "run_id": pa.int64(),
    "extracted_at": pa.timestamp("us", tz="UTC"), "llm_requests": pa.int64(),
    "llm_tokens": pa.int64(),
}
_TIDY_REPORT = ("sha256", "document", "agency", "year", "template")
_TIDY_AT = [list(_REPORT_TYPES).index(c) for c in _TIDY_REPORT]
_EXTRACTED_AT = list(_REPORT_TYPES).index("extracted_at")
_FIELD_COLUMNS = ("key", "value_num", "value_text", "confidence", "flagged", "method")

TIDY_SCHEMA = pa.schema(
    [(c, _REPORT_TYPES[c]) for c in _TIDY_REPORT]
    + [("field", pa.string()), ("value_num", pa.float64()), ("value_text", pa.string()),
       ("confidence", pa.float64()), ("flagged", pa.bool_()), ("method", pa.string()),
       ("origin", pa.string()), ("reviewer", pa.string())])
TIDY_CSV_COLUMNS = (*_TIDY_REPORT, "field", "value", "confidence", "flagged", "method", "origin", "reviewer")
_ORIGIN = {None: "machine", "accept": "accepted", "correct": "corrected", "source_error": "source_error"}


def _key_type(key: str) -> pa.DataType:
    if key in MONEY_KEYS:
        return pa.float64()  # 万元
    return pa.int64() if is_numeric_key(key) or key == "meta.year" else pa.string()


WIDE_SCHEMA = pa.schema(list(_REPORT_TYPES.items()) + [(k, _key_type(k)) for k in KEYS])


def export(engine: Engine, folder: Path) -> list[Path]:
    """Write the four files into `folder` (made if missing); returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    latest = (select(decisions.c.report_id, decisions.c.field, func.max(decisions.c.id).label("id"))
              .where(decisions.c.action != "skip").group_by(decisions.c.report_id, decisions.c.field).subquery())
    reviewed = decisions.alias("reviewed")
    query = (select(reports.c.id, *(reports.c[c] for c in _REPORT_TYPES),
                    *(fields.c[c] for c in _FIELD_COLUMNS),
                    reviewed.c.action, reviewed.c.value_num, reviewed.c.value_text, reviewed.c.reviewer)
             .select_from(reports.outerjoin(fields)
                          .outerjoin(latest, and_(latest.c.report_id == fields.c.report_id,
                                                  latest.c.field == fields.c.key))
                          .outerjoin(reviewed, reviewed.c.id == latest.c.id))
             .order_by(reports.c.id))
    n = len(_REPORT_TYPES)
    with ExitStack() as stack:
        tidy = _Sink(stack, folder, TIDY, TIDY_SCHEMA, TIDY_CSV_COLUMNS)
        wide = _Sink(stack, folder, WIDE, WIDE_SCHEMA, WIDE_SCHEMA.names)
        conn = stack.enter_context(engine.connect())
        rows = conn.execution_options(yield_per=_ROWS_PER_FETCH).execute(query)
        for _, group in groupby(rows, key=itemgetter(0)):
            group = list(group)
            report = list(group[0][1:n + 1])
            head = [report[i] for i in _TIDY_AT]
            # a report without fields (error, not a report) comes as one row of nulls
            found = (r[n + 1:] for r in group if r.key is not None)
            values = {}
            for key, num, text, confidence, flagged, method, action, r_num, r_text, reviewer in sorted(
                    found, key=lambda f: _RANK.get(f[0], len(_RANK))):
                if action is not None:
                    num, text = r_num, r_text
                value = values[key] = value_of(key, num, text)
                origin = _ORIGIN[action]
                tidy.add([*head, key, value, confidence, "true" if flagged else "false", method, origin, reviewer],
                         [*head, key, num, text, confidence, flagged, method, origin, reviewer])
            row = report + [values.get(k) for k in KEYS]
            at = _utc(row[_EXTRACTED_AT])
            wide.add([*row[:_EXTRACTED_AT], at.isoformat(), *row[_EXTRACTED_AT + 1:]], row)
        tidy.flush()
        wide.flush()
    return [folder / f"{name}.{ext}" for name in (TIDY, WIDE) for ext in ("csv", "parquet")]


class _Sink:
    """One table: CSV rows written as they come (None as an empty cell), Parquet rows in
    record batches. Both files are closed, and renamed into place, when the stack unwinds:
    `flush` first."""

    def __init__(self, stack: ExitStack, folder: Path, name: str, schema: pa.Schema,
                 csv_columns: Sequence[str]):
        fh = stack.enter_context(atomic_open(folder / f"{name}.csv", "w", encoding="utf-8", newline=""))
        self.csv = CsvWriter(fh)
        self.csv.writerow(csv_columns)
        self.schema = schema
        self.batch_rows = max(1, _CELLS_PER_BATCH // len(schema))
        # closed before its file is renamed into place, so the footer is in it
        self.parquet = stack.enter_context(closing(pq.ParquetWriter(
            stack.enter_context(atomic_open(folder / f"{name}.parquet", "wb")), schema)))
        self.rows: list[list] = []

    def add(self, csv_row: list, parquet_row: list) -> None:
        self.csv.writerow(csv_row)
        self.rows.append(parquet_row)
        if len(self.rows) >= self.batch_rows:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.parquet.write_batch(pa.record_batch(
                [_array(list(c), f.type) for c, f in zip(zip(*self.rows), self.schema)],
                schema=self.schema))
            self.rows = []


def _array(values: list, type_: pa.DataType) -> pa.Array:
    # Counts are stored as floats; a safe cast refuses to truncate one that is not whole
    # (pa.array(..., int64) would truncate 3.5 to 3 silently).
    if pa.types.is_integer(type_):
        return pa.array(values, pa.float64()).cast(type_)
    return pa.array(values, type_)


def _utc(stamp: datetime) -> datetime:
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)  # SQLite drops it
