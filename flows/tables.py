"""The dataset's tables, as `extract` (from the per-document JSONs) and `run` / `review export`
(from the database) both write them, so an analyst's code reads either folder alike:

- fields, tidy: one row per report and field: agency, year, template, document, sha256,
  key, section, value_num (numbers), value_text (text), confidence, flagged, method, origin
  (where the value came from), decision and reviewer (a reviewer's decision, if any);
- reports, wide: one row per report, its record, then one typed column per field key of
  either template (2019's in the spec's order, then those only 2021 has); of several
  reports of one body and year, only the primary;
- rules: one row per report, rule and scope: status, blame, fields, detail.

The tidy and rules rows end in group and role, as does the wide table's record: the report
among those of its body and year (flows.duplicates), primary, duplicate or conflict.

What goes in a cell, and how a cell is written in a CSV; the writing itself is in
flows.outputs. No I/O here.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pyarrow as pa

from extractors.dictionary import all_keys
from extractors.result import DocumentResult, FieldProvenance, os_text
from extractors.standard_model import MONEY_KEYS, is_numeric_key, section_of
from extractors.template.values import in_range

from .duplicates import Placement

KEYS = all_keys()
RANK = {key: i for i, key in enumerate(KEYS)}

_HEAD = [("agency", pa.string()), ("year", pa.int64()), ("template", pa.string()),
         ("document", pa.string()), ("sha256", pa.string())]
# Last in every table: the report among those of its body and year (flows.duplicates), its
# group, and primary, duplicate or conflict; null for a document in no group.
_GROUPING = [("group", pa.string()), ("role", pa.string())]

TIDY_SCHEMA = pa.schema(_HEAD + [
    ("key", pa.string()), ("section", pa.string()), ("value_num", pa.float64()),
    ("value_text", pa.string()), ("confidence", pa.float64()), ("flagged", pa.bool_()),
    ("method", pa.string()), ("origin", pa.string()), ("decision", pa.string()),
    ("reviewer", pa.string())] + _GROUPING)

RULES_SCHEMA = pa.schema(_HEAD + [
    ("rule", pa.string()), ("scope", pa.string()), ("status", pa.string()), ("blame", pa.string()),
    ("fields", pa.list_(pa.string())), ("detail", pa.string())] + _GROUPING)

# The wide table's record of a report from `extract`: what its JSON knows (path: the input
# file, where this run was given it). The database's record (flows.export) has more.
EXTRACT_RECORD = {
    "sha256": pa.string(), "document": pa.string(), "agency": pa.string(), "year": pa.int64(),
    "path": pa.string(), "format": pa.string(), "status": pa.string(), "error_code": pa.string(),
    "error": pa.string(), "template": pa.string(), "extractor_version": pa.string(),
    "llm_requests": pa.int64(), "llm_tokens": pa.int64(), "group": pa.string(), "role": pa.string(),
}


def key_type(key: str) -> pa.DataType:
    if key in MONEY_KEYS:
        return pa.float64()  # 万元
    return pa.int64() if is_numeric_key(key) or key == "meta.year" else pa.string()


def wide_schema(record: dict[str, pa.DataType]) -> pa.Schema:
    return pa.schema(list(record.items()) + [(k, key_type(k)) for k in KEYS])


EXTRACT_WIDE_SCHEMA = wide_schema(EXTRACT_RECORD)


def origin(method: str | None, source: str | None) -> str | None:
    """Where a value came from, for an analyst weighing it (`method` says how it was read):
    table (a table's cells), prose (the report's words: its sentences, title, header,
    signature...), ocr (either, recognised from a picture or a scan), llm (a language
    model's answer), absent (the report does not state it)."""
    if method in (None, "llm", "absent"):
        return method
    if source == "ocr":
        return "ocr"
    return "table" if method == "table" else "prose"


def provenance_origin(prov: FieldProvenance | None) -> str | None:
    return origin(prov.method, prov.source) if prov else None


def _year(value) -> int | None:
    # meta.year is an int from the extractor; anything else is not a year for the table
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def report_head(doc: str, result: DocumentResult) -> list:
    """agency, year, template, document, sha256 of a report from its JSON: agency and year
    as the report states them (meta.agency, meta.year)."""
    agency = result.fields.get("meta.agency")
    return [agency if isinstance(agency, str) else None, _year(result.fields.get("meta.year")),
            result.template, doc, result.sha256 or None]


def grouping(placement: Placement | None) -> list:
    """The group and role columns, last in every table."""
    return [placement.group, placement.role] if placement else [None, None]


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _held(value) -> bool:
    """Whether a number fits the dataset (a 30-digit count from an LLM or an older JSON does
    not): such a value is null in the tables and flagged, as the database stores it."""
    return not _number(value) or in_range(value)


def tidy_rows(head: list, result: DocumentResult, placement: Placement | None = None) -> list[list]:
    flagged = {item.field for item in result.review}
    rows = []
    for key, value in sorted(result.fields.items(), key=lambda kv: RANK.get(kv[0], len(RANK))):
        prov = result.provenance.get(key)
        rows.append([*head, key, section_of(key), float(value) if _number(value) and _held(value) else None,
                     value if isinstance(value, str) else None, result.confidence.get(key),
                     key in flagged or not _held(value), prov.method if prov else None,
                     provenance_origin(prov), None, None, *grouping(placement)])
    return rows


def wide_value(key: str, value):
    """A value as its wide column's type holds it, else null (the tidy table keeps it): a
    count that is not whole, a number out of range, text under a numeric key."""
    type_ = key_type(key)
    if pa.types.is_string(type_):
        return value if isinstance(value, str) else None
    if not _number(value) or not _held(value):
        return None
    if pa.types.is_integer(type_):
        return int(value) if float(value).is_integer() else None
    return float(value)


def rule_rows(head: list, result: DocumentResult, placement: Placement | None = None) -> list[list]:
    return [[*head, r.rule, r.scope, r.status, r.blame, list(r.fields), r.detail, *grouping(placement)]
            for r in result.rules]


def wide_row(doc: str, result: DocumentResult, path: str | None, placement: Placement | None = None) -> list:
    llm = result.llm
    head = report_head(doc, result)
    record = {"sha256": result.sha256 or None, "document": doc, "agency": head[0], "year": head[1],
              "path": os_text(path) if path else None, "format": result.format, "status": result.status,
              "error_code": result.error_code, "error": result.error, "template": result.template,
              "extractor_version": result.extractor_version,
              "llm_requests": llm.requests if llm else 0,
              "llm_tokens": llm.prompt_tokens + llm.completion_tokens if llm else 0,
              **dict(zip(("group", "role"), grouping(placement)))}
    return [record[c] for c in EXTRACT_RECORD] + [wide_value(k, result.fields.get(k)) for k in KEYS]


def utc(stamp: datetime) -> datetime:
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)  # SQLite drops it


# -- cells ------------------------------------------------------------------------------

_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def one_line(text: str) -> str:
    """Text as one line of a CSV, so that line tools (wc -l, grep, sort) see one record per
    line: newline as \\n, carriage return \\r, tab \\t, and a backslash as \\\\ (so the escapes
    can be undone). Parquet and the workbook keep the text as it is."""
    return text.translate(_ESCAPES)


def csv_text(value) -> str:
    """A typed value as CSV text: empty for null, true/false, whole numbers without '.0',
    timestamps in ISO 8601, a list as its items joined by spaces, text on one line."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return utc(value).isoformat()
    if isinstance(value, list):
        return " ".join(map(csv_text, value))
    return one_line(value) if isinstance(value, str) else str(value)


# A cell a spreadsheet (Excel, WPS, LibreOffice) would run as a formula: OWASP's CSV
# injection list. Numbers such as -18 (a change) start with '-' too and stay numbers.
FORMULA_START = frozenset("=+-@\t\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def spreadsheet_cell(value) -> str:
    """A value as a cell that is safe to open in a spreadsheet: text that would start a
    formula gets a leading ' (shown as text, the rest as printed); text is made writable as
    UTF-8 (os_text). Parquet and the database keep the raw text."""
    text = "" if value is None else str(value)
    if not text.isascii():
        text = os_text(text)
    if text[:1] in FORMULA_START and not _NUMBER.fullmatch(text):
        return "'" + text
    return text
