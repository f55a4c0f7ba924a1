"""The results database: every report's record, fields, rule results and review items, and
the runs that wrote them. A SQLite file by default (OUT/nianbao.sqlite), PostgreSQL by URL;
SQLAlchemy Core, so one set of statements serves both.

A report is saved in one transaction, so a process killed at any moment leaves each report
either wholly saved or as it was before. Several processes may write to one SQLite file:
WAL lets readers go on beside the writer, and writers wait their turn (busy timeout); each
transaction holds one report, so the wait is short.

The schema, for plain SQL (JSON is stored as text):

    runs          id, started_at, finished_at, info (JSON: command, manifest...), summary (JSON)
    reports       id, sha256 (unique: the file's content is its identity), document, agency,
                  year, url, final_url, raw_path, format, status (ok, not_a_report, error),
                  error_code, error, template, extractor_version, run_id → runs (the run
                  that saved it last), extracted_at, llm_requests, llm_tokens,
                  llm (JSON: the LLM record without the answers' values, which are in fields),
                  unsettled (JSON: the sections an LLM would be asked about), result_sha256
                  (hash of the per-document JSON it was saved from)
    fields        report_id → reports, key, value_num (numbers), value_text (text and meta
                  strings), confidence, flagged (the field is in the review queue), method,
                  page, table_id, row, col, and the rest of its provenance: raw (as printed),
                  label, bbox (JSON [x0, y0, x1, y1], PDF points), image, source (native,
                  ocr), note; primary key (report_id, key)
    rule_results  report_id → reports, rule, scope, status, blame, fields (JSON list), detail
    review_items  report_id → reports, field, reason
    decisions     id, report_id → reports, field, action (accept, correct, source_error,
                  skip), value_num/value_text (the reviewed value), machine_num/machine_text
                  (the machine's value when decided), reviewer, decided_at, note; written by
                  `nianbao review`, never updated (an audit trail; the latest decision other
                  than a skip is the field's reviewed value)
    coverage      agency, year, url (a manifest row of `run`), outcome (found, no report listed,
                  fetch failed, not a report, year mismatch, agency mismatch, duplicate, no
                  report found), reason, reports, sha256 (space-separated), run_id → runs (the
                  run that saw it last); one row per manifest row
    report_groups report_id → reports, group_key (the body's canonical key/year), role (primary,
                  duplicate, conflict), primary_id → reports, review (JSON [{field, reason}]: the
                  fields another report of the group prints otherwise); rewritten whole after
                  each store (flows.groups_db); a report in no group has no row

Child rows go with their report (ON DELETE CASCADE). For example, one figure across reports:

    SELECT r.agency, r.year, f.value_num, f.flagged FROM fields f
    JOIN reports r ON r.id = f.report_id WHERE f.key = 'requests.new.total';
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import (Boolean, Column, DateTime, Engine, Float, ForeignKey, Index, Integer,
                        MetaData, PrimaryKeyConstraint, Table, Text, create_engine, event,
                        inspect, select, text, update)
from sqlalchemy.dialects import postgresql, sqlite

from extractors.llm.asks import unsettled_sections
from extractors.result import DocumentResult
from extractors.standard_model import MONEY_KEYS
from extractors.template.values import MAX_DIGITS, in_range

SQLITE_NAME = "nianbao.sqlite"
BUSY_TIMEOUT_MS = 60_000  # a writer waits this long for another process's transaction

metadata = MetaData()

runs = Table(
    "runs", metadata,
    Column("id", Integer, primary_key=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("info", Text),
    Column("summary", Text),
)

reports = Table(
    "reports", metadata,
    Column("id", Integer, primary_key=True),
    Column("sha256", Text, nullable=False, unique=True),
    Column("document", Text, nullable=False),
    Column("agency", Text),
    Column("year", Integer),
    Column("url", Text),
    Column("final_url", Text),
    Column("raw_path", Text),
    Column("format", Text),
    Column("status", Text, nullable=False),
    Column("error_code", Text),
    Column("error", Text),
    Column("template", Text),
    Column("extractor_version", Text, nullable=False),
    Column("run_id", Integer, ForeignKey("runs.id")),
    Column("extracted_at", DateTime(timezone=True), nullable=False),
    Column("llm_requests", Integer, nullable=False),
    Column("llm_tokens", Integer, nullable=False),
    Column("llm", Text),
    Column("unsettled", Text, nullable=False),
    Column("result_sha256", Text),  # hash of the per-document JSON saved: a rerun saves only changes
)


def _report_id() -> Column:
    return Column("report_id", Integer, ForeignKey("reports.id", ondelete="CASCADE"), nullable=False)


fields = Table(
    "fields", metadata,
    _report_id(),
    Column("key", Text, nullable=False),
    Column("value_num", Float),
    Column("value_text", Text),
    Column("confidence", Float),
    Column("flagged", Boolean, nullable=False),
    Column("method", Text),
    Column("page", Integer),
    Column("table_id", Text),
    Column("row", Integer),
    Column("col", Integer),
    Column("raw", Text),
    Column("label", Text),
    Column("bbox", Text),
    Column("image", Text),
    Column("source", Text),
    Column("note", Text),
    PrimaryKeyConstraint("report_id", "key"),  # serves lookups by report too
    Index("fields_key", "key"),
)

rule_results = Table(
    "rule_results", metadata,
    _report_id(),
    Column("rule", Text, nullable=False),
    Column("scope", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("blame", Text),
    Column("fields", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Index("rule_results_report", "report_id"),
)

review_items = Table(
    "review_items", metadata,
    _report_id(),
    Column("field", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Index("review_items_report", "report_id"),
)

decisions = Table(
    "decisions", metadata,
    Column("id", Integer, primary_key=True),
    _report_id(),
    Column("field", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("value_num", Float),
    Column("value_text", Text),
    Column("machine_num", Float),
    Column("machine_text", Text),
    Column("reviewer", Text, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("note", Text),
    Index("decisions_report_field", "report_id", "field"),
)

coverage = Table(
    "coverage", metadata,
    Column("agency", Text, nullable=False),
    Column("year", Integer),
    Column("url", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("reports", Integer, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("run_id", Integer, ForeignKey("runs.id")),
    Index("coverage_row", "url", "agency", "year"),
)

report_groups = Table(
    "report_groups", metadata,
    Column("report_id", Integer, ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True),
    Column("group_key", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("primary_id", Integer, ForeignKey("reports.id", ondelete="CASCADE"), nullable=False),
    Column("review", Text, nullable=False),
)

_INSERT = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}  # both can upsert


def database_url(db: str | None, out: Path) -> str:
    """`--db` as a SQLAlchemy URL: none means a SQLite file in the output folder, and a plain
    PostgreSQL URL gets the psycopg (3) driver."""
    if db is None:
        return f"sqlite:///{out}/{SQLITE_NAME}"
    for scheme in ("postgresql://", "postgres://"):
        if db.startswith(scheme):
            return "postgresql+psycopg://" + db[len(scheme):]
    return db


def connect(url: str) -> Engine:
    """An engine on the database, its tables created if missing. One per process: workers
    call this themselves rather than inherit an engine across a fork."""
    engine = create_engine(url)
    if engine.dialect.name not in _INSERT:
        raise ValueError(f"{engine.dialect.name}: results are stored in SQLite or PostgreSQL")
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    with writing(engine) as conn:
        if engine.dialect.name == "postgresql":  # processes starting together create once
            conn.execute(text("SELECT pg_advisory_xact_lock(4242)"))
        metadata.create_all(conn)
    with engine.connect() as conn:  # outside the write transaction: other writers wait less
        _check_columns(conn)
    return engine


class OldSchema(RuntimeError):
    """A database written by an earlier nianbao, without columns this one writes."""


def _check_columns(conn) -> None:
    """create_all adds missing tables, not missing columns: say so rather than fail later."""
    inspector = inspect(conn)
    for table in metadata.sorted_tables:
        have = {c["name"] for c in inspector.get_columns(table.name)}
        if missing := [c.name for c in table.columns if c.name not in have]:
            raise OldSchema(f"{conn.engine.url.render_as_string(hide_password=True)}: table {table.name} has no "
                            f"column {', '.join(missing)} (written by an earlier nianbao); move the database "
                            "aside and run again: reports are saved anew from their JSON")


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    # WAL is kept in the file: set it once. Setting it takes a lock that busy_timeout does
    # not wait for: processes opening a new database at once all find it unset, and all but
    # one are refused, so they wait and look again (by then it is usually set).
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    # WAL with NORMAL: a commit survives a killed process; only a power cut may lose the last
    # few, never half of one (a rerun redoes them). FULL would fsync every report.
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


@contextmanager
def writing(engine: Engine) -> Iterator:
    """A write transaction. SQLite's is taken IMMEDIATE: one that read first and then tried
    to write after another process had written would fail at once instead of waiting."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        yield conn


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def start_run(engine: Engine, info: dict) -> int:
    with writing(engine) as conn:
        return conn.execute(runs.insert().values(started_at=_now(), info=_json(info))
                            .returning(runs.c.id)).scalar_one()


def finish_run(engine: Engine, run_id: int, summary: dict) -> None:
    with writing(engine) as conn:
        conn.execute(update(runs).where(runs.c.id == run_id)
                     .values(finished_at=_now(), summary=_json(summary)))


def save_result(engine: Engine, result: DocumentResult, source: dict, run_id: int) -> None:
    """Save one report in place of any earlier version of it (same sha256), in one
    transaction. `source` may say where it came from: agency, year, url, final_url,
    raw_path, result_sha256; agency and year default to what the report itself says."""
    row = _report_row(result, source, run_id)
    with writing(engine) as conn:
        insert = _INSERT[engine.dialect.name](reports).values(row)
        report_id = conn.execute(
            insert.on_conflict_do_update(index_elements=[reports.c.sha256],
                                         set_={k: insert.excluded[k] for k in row})
            .returning(reports.c.id)).scalar_one()
        for child, rows in ((fields, _field_rows), (rule_results, _rule_rows),
                            (review_items, _review_rows)):
            conn.execute(child.delete().where(child.c.report_id == report_id))
            if built := rows(report_id, result):
                conn.execute(child.insert(), built)


def save_if_changed(engine: Engine, data: bytes, sha256: str, source: dict, run_id: Callable[[], int],
                    saved: dict[str, dict]) -> bool:
    """Save `data`, the per-document JSON of the file `sha256`, unless the database holds that
    very JSON already (by its hash; `saved` is saved_reports()). `run_id` is asked for only
    when something is saved, so a load that finds nothing new starts no run. Returns whether
    it saved."""
    digest = hashlib.sha256(data).hexdigest()
    if saved.get(sha256, {}).get("result_sha256") == digest:
        return False
    save_result(engine, DocumentResult.model_validate_json(data), {**source, "result_sha256": digest}, run_id())
    return True


def _report_row(result: DocumentResult, source: dict, run_id: int) -> dict:
    llm = result.llm
    year = source.get("year") or result.fields.get("meta.year")
    return {
        "sha256": result.sha256, "document": result.document,
        "agency": source.get("agency") or result.fields.get("meta.agency"),
        "year": int(year) if year else None,
        **{k: source.get(k) for k in ("url", "final_url", "raw_path", "result_sha256")},
        "format": result.format, "status": result.status, "error_code": result.error_code,
        "error": result.error, "template": result.template,
        "extractor_version": result.extractor_version, "run_id": run_id, "extracted_at": _now(),
        "llm_requests": llm.requests if llm else 0,
        "llm_tokens": llm.prompt_tokens + llm.completion_tokens if llm else 0,
        "llm": _json(llm.model_dump(mode="json", exclude={"answers": {"__all__": {"values"}}}))
        if llm else None,
        "unsettled": _json(sorted(unsettled_sections(result.confidence, result.rules))),
    }


_PROVENANCE = {"method": "method", "page": "page", "table_id": "table", "row": "row", "col": "col",
               "raw": "raw", "label": "label", "image": "image", "source": "source", "note": "note"}


def _out_of_range(result: DocumentResult) -> dict[str, str]:
    """Numbers the dataset cannot hold (a 30-digit count: int64 and float64 cannot), with
    why. The template extractor refuses them itself; this guards values from elsewhere (an
    LLM's answer, a JSON of an earlier version), stored as null and flagged."""
    out = {}
    for key, value in result.fields.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool) and not in_range(value):
            out[key] = f"a number the dataset cannot hold (more than {MAX_DIGITS} digits, or not finite)"
    return out


def _field_rows(report_id: int, result: DocumentResult) -> list[dict]:
    flagged = {item.field for item in result.review}
    refused = _out_of_range(result)
    rows = []
    for key, value in result.fields.items():
        prov = result.provenance.get(key)
        refusal = refused.get(key)
        number = isinstance(value, (int, float)) and not isinstance(value, bool) and refusal is None
        row = {
            "report_id": report_id, "key": key,
            "value_num": float(value) if number else None,
            "value_text": value if isinstance(value, str) else None,
            "confidence": result.confidence.get(key), "flagged": key in flagged or refusal is not None,
            **{column: getattr(prov, attr, None) for column, attr in _PROVENANCE.items()},
            "bbox": _json(list(prov.bbox)) if prov and prov.bbox else None,
        }
        if refusal:
            row["note"] = "; ".join(filter(None, (row["note"], refusal)))
        rows.append(row)
    return rows


def _rule_rows(report_id: int, result: DocumentResult) -> list[dict]:
    return [{"report_id": report_id, "rule": r.rule, "scope": r.scope, "status": r.status,
             "blame": r.blame, "fields": _json(r.fields), "detail": r.detail}
            for r in result.rules]


def _review_rows(report_id: int, result: DocumentResult) -> list[dict]:
    return ([{"report_id": report_id, "field": i.field, "reason": i.reason} for i in result.review]
            + [{"report_id": report_id, "field": key, "reason": why} for key, why in _out_of_range(result).items()])


def value_of(key: str, number: float | None, text: str | None) -> int | float | str | None:
    """A stored value as the extractor gave it: counts and years as ints, money as floats
    (a count that is not whole stays a float, for a Parquet cast to refuse)."""
    if number is None:
        return text
    return number if key in MONEY_KEYS or not number.is_integer() else int(number)


def saved_reports(engine: Engine) -> dict[str, dict]:
    """sha256 → what a rerun needs to tell whether a report is done, in the shape of
    flows.outputs.read_record_header: sha256, extractor_version, status, error_code, llm
    (the record less its answers' values, or None) and unsettled; and result_sha256."""
    cols = (reports.c.sha256, reports.c.extractor_version, reports.c.status,
            reports.c.error_code, reports.c.llm, reports.c.unsettled, reports.c.result_sha256)
    with engine.connect() as conn:
        return {r.sha256: {"sha256": r.sha256, "extractor_version": r.extractor_version,
                           "status": r.status, "error_code": r.error_code,
                           "llm": json.loads(r.llm) if r.llm else None,
                           "unsettled": json.loads(r.unsettled), "result_sha256": r.result_sha256}
                for r in conn.execute(select(*cols))}


def save_coverage(engine: Engine, run_id: int, entries: list[dict]) -> None:
    """Each manifest row's outcome in this run, in place of what an earlier run said of it."""
    with writing(engine) as conn:
        for entry in entries:
            year = coverage.c.year.is_(None) if entry["year"] is None else coverage.c.year == entry["year"]
            conn.execute(coverage.delete().where(coverage.c.url == entry["url"],
                                                 coverage.c.agency == (entry["agency"] or ""), year))
            conn.execute(coverage.insert().values(
                agency=entry["agency"] or "", year=entry["year"], url=entry["url"], outcome=entry["outcome"],
                reason=entry["reason"], reports=entry["reports"], sha256=entry["sha256"], run_id=run_id))
