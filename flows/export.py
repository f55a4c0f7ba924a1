"""The dataset as files, from the results database: the tables of flows.tables, each as CSV
(UTF-8 with a BOM, an empty cell for null, text on one line, text that a spreadsheet would
take for a formula prefixed with ') and Parquet (typed), then the data dictionary and the
workbook (flows.outputs):

- fields, tidy: one row per report and field. A field a reviewer decided on (`nianbao
  review`) shows the reviewed value; `decision` says what was decided: accepted, corrected
  or source_error (the report itself is wrong; the value is what it prints), `reviewer` who
  decided, and a corrected value's `origin` is `reviewer`.
- reports, wide: one row per report, its record and then one column per field key of either
  template, reviewed values where there are any; of several reports of one body and year,
  the primary only (report_groups, flows.groups_db).
- rules: one row per report, rule and scope (the report-quality audit).

One query reads reports with their fields in report order, and both tables are written
from it as it streams, so memory does not grow with the database; the rules come from a
second query in the same read transaction, so the files agree with each other even while
other processes write. Every file is written atomically (flows.outputs.atomic_open).
"""

from __future__ import annotations

import json
from contextlib import ExitStack, contextmanager
from itertools import groupby
from operator import itemgetter
from pathlib import Path

import pyarrow as pa
from sqlalchemy import Engine, and_, func, select

from extractors.standard_model import section_of

from . import duplicates, tables
from .outputs import FIELDS, REPORTS, RULES, TableSink, write_dictionary, write_workbook
from .store import decisions, fields, report_groups, reports, rule_results, value_of

_ROWS_PER_FETCH = 10_000

REPORT_TYPES = {
    "sha256": pa.string(), "document": pa.string(), "agency": pa.string(), "year": pa.int64(),
    "url": pa.string(), "final_url": pa.string(), "raw_path": pa.string(), "format": pa.string(),
    "status": pa.string(), "error_code": pa.string(), "error": pa.string(),
    "template": pa.string(), "extractor_version": pa.string(), "run_id": pa.int64(),
    "extracted_at": pa.timestamp("us", tz="UTC"), "llm_requests": pa.int64(),
    "llm_tokens": pa.int64(),
}
_HEAD = ("agency", "year", "template", "document", "sha256")  # of every tidy and rules row
_HEAD_AT = [list(REPORT_TYPES).index(c) for c in _HEAD]
_GROUPING = (report_groups.c.group_key, report_groups.c.role)  # the tables' group and role
_EXTRACTED_AT = list(REPORT_TYPES).index("extracted_at")
_FIELD_COLUMNS = ("key", "value_num", "value_text", "confidence", "flagged", "method", "source")
_DECISION = {None: None, "accept": "accepted", "correct": "corrected", "source_error": "source_error"}

WIDE_SCHEMA = tables.wide_schema(REPORT_TYPES | {"group": pa.string(), "role": pa.string()})


def export(engine: Engine, folder: Path) -> list[Path]:
    """Write the dataset into `folder` (made if missing); returns the files' paths."""
    folder.mkdir(parents=True, exist_ok=True)
    latest = (select(decisions.c.report_id, decisions.c.field, func.max(decisions.c.id).label("id"))
              .where(decisions.c.action != "skip").group_by(decisions.c.report_id, decisions.c.field).subquery())
    reviewed = decisions.alias("reviewed")
    grouped = reports.outerjoin(report_groups, report_groups.c.report_id == reports.c.id)
    query = (select(reports.c.id, *(reports.c[c] for c in REPORT_TYPES), *_GROUPING, report_groups.c.review,
                    *(fields.c[c] for c in _FIELD_COLUMNS),
                    reviewed.c.action, reviewed.c.value_num, reviewed.c.value_text, reviewed.c.reviewer)
             .select_from(grouped.outerjoin(fields, fields.c.report_id == reports.c.id)
                          .outerjoin(latest, and_(latest.c.report_id == fields.c.report_id,
                                                  latest.c.field == fields.c.key))
                          .outerjoin(reviewed, and_(reviewed.c.id == latest.c.id,
                                                    reviewed.c.action != "undo")))  # undone: the machine's
             .order_by(reports.c.id))
    rules_query = (select(*(reports.c[c] for c in _HEAD),
                          *(rule_results.c[c] for c in ("rule", "scope", "status", "blame", "fields", "detail")),
                          *_GROUPING)
                   .select_from(grouped.join(rule_results, rule_results.c.report_id == reports.c.id))
                   .order_by(reports.c.id))
    n = len(REPORT_TYPES)
    with ExitStack() as stack:
        tidy = TableSink(stack, folder, FIELDS, tables.TIDY_SCHEMA)
        wide = TableSink(stack, folder, REPORTS, WIDE_SCHEMA)
        rules = TableSink(stack, folder, RULES, tables.RULES_SCHEMA)
        conn = stack.enter_context(_snapshot(engine))
        rows = conn.execution_options(yield_per=_ROWS_PER_FETCH).execute(query)
        for _, group in groupby(rows, key=itemgetter(0)):
            group = list(group)
            report = list(group[0][1:n + 1])
            report[_EXTRACTED_AT] = tables.utc(report[_EXTRACTED_AT])
            group_key, role, review = group[0][n + 1:n + 4]
            head = [report[i] for i in _HEAD_AT]
            differ = {i["field"] for i in json.loads(review)} if review else set()  # flagged by the grouping
            # a report without fields (error, not a report) comes as one row of nulls
            found = (r[n + 4:] for r in group if r.key is not None)
            values = {}
            for key, num, text, confidence, flagged, method, source, action, r_num, r_text, reviewer in sorted(
                    found, key=lambda f: tables.RANK.get(f[0], len(tables.RANK))):
                origin = tables.origin(method, source)
                if action is not None:
                    num, text = r_num, r_text
                    origin = "reviewer" if action == "correct" else origin
                values[key] = value_of(key, num, text)
                tidy.add([*head, key, section_of(key), num, text, confidence, flagged or key in differ, method,
                          origin, _DECISION[action], reviewer, group_key, role])
            if duplicates.in_wide_table(role):
                wide.add(report + [group_key, role] + [values.get(k) for k in tables.KEYS])
        for row in conn.execution_options(yield_per=_ROWS_PER_FETCH).execute(rules_query):
            *head, rule, scope, status, blame, keys, detail, group_key, role = row
            rules.add([*head, rule, scope, status, blame, json.loads(keys), detail, group_key, role])
        for table in (tidy, wide, rules):
            table.flush()
    return [*tidy.paths, *wide.paths, *rules.paths, *write_dictionary(folder), write_workbook(folder)]


@contextmanager
def _snapshot(engine: Engine):
    """A connection whose statements all read one snapshot of the database: SQLite's read
    transaction taken at its first statement (pysqlite begins none for a SELECT),
    PostgreSQL's REPEATABLE READ."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN")
        else:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        yield conn
