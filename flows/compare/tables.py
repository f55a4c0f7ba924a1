"""compare's results in the database it read (a `run`'s SQLite or PostgreSQL), beside the
reports: one table per file of compare, with the same columns, prefixed `compare_`:

    compare_pairs, compare_checks, compare_review, compare_reuse, compare_changes,
    compare_measures

compare recomputes everything from the reports, so each run replaces these tables' rows,
in one transaction: a reader sees the last whole comparison, never half of one. They are
kept apart from flows.store's tables (their own MetaData), which they do not change."""

from __future__ import annotations

import pyarrow as pa
from sqlalchemy import Column, Engine, Float, Integer, MetaData, Table, Text

from ..store import writing
from .exports import SCHEMAS, TABLES

metadata = MetaData()


def _column(field: pa.Field) -> Column:
    kind = Integer if pa.types.is_integer(field.type) else Float if pa.types.is_floating(field.type) else Text
    return Column(field.name, kind)


tables = {name: Table(f"compare_{name}", metadata, *map(_column, SCHEMAS[name])) for name in TABLES}


class Database:
    """Rows added by table (exports.typed_row's tuples), inserted in batches inside one
    transaction; use as a context manager (the old rows are deleted on entry, all is
    committed on a clean exit)."""

    BATCH = 5_000

    def __init__(self, engine: Engine):
        self.engine = engine
        self.rows: dict[str, list[dict]] = {name: [] for name in TABLES}

    def __enter__(self) -> Database:
        metadata.create_all(self.engine)
        self._tx = writing(self.engine)
        self.conn = self._tx.__enter__()
        for table in tables.values():
            self.conn.execute(table.delete())
        return self

    def add(self, name: str, row: tuple) -> None:
        self.rows[name].append(dict(zip(TABLES[name], row)))
        if len(self.rows[name]) >= self.BATCH:
            self._flush(name)

    def _flush(self, name: str) -> None:
        if self.rows[name]:
            self.conn.execute(tables[name].insert(), self.rows[name])
            self.rows[name] = []

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            for name in TABLES:
                self._flush(name)
        self._tx.__exit__(kind, value, traceback)
