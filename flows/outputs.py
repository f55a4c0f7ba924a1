"""What `nianbao extract` leaves in its output folder, and how it gets there: per-document
JSONs, the dataset's tables (flows.tables) as CSV and Parquet, review.csv, the data
dictionary and the workbook (flows.workbook); `run` writes its export with the same pieces.

Every file is written atomically: into a hidden temp file next to the target, fsynced, then
renamed over it, so a reader (or a rerun after a crash) sees either the old file or the new
one, never half of one. No Prefect here: workers and tests use these directly.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, closing, contextmanager, suppress
from pathlib import Path
from typing import IO

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import ValidationError

from extractors.dictionary import FIELD_COLUMNS, RULE_COLUMNS, field_entries, rule_entries
from extractors.llm.asks import unsettled_sections
from extractors.result import DocumentResult, RuleResult, os_text

from . import duplicates, tables, workbook
from .tables import csv_text, spreadsheet_cell

SUMMARY = "summary.json"
FIELDS, REPORTS, RULES = "fields", "reports", "rules"  # the tables: <name>.csv and <name>.parquet
FIELDS_CSV = "fields.csv"
REVIEW_CSV = "review.csv"
DICTIONARY_CSV = "dictionary.csv"
RULES_DICTIONARY_CSV = "rules_dictionary.csv"
# The dataset's CSVs are UTF-8 with a byte-order mark: Excel reads a CSV without one in the
# system's code page (GBK on Chinese Windows) and shows mojibake. Read them with
# encoding="utf-8-sig" (pandas and DuckDB skip the mark themselves).
CSV_ENCODING = "utf-8-sig"
# Marks a folder as ours, so a later run over a parent folder does not read our outputs.
MARKER = ".nianbao-out"
LOCK = ".nianbao-lock"
TMP_SUFFIX = ".nianbao-tmp"

FIELDS_COLUMNS = tuple(tables.TIDY_SCHEMA.names)
REVIEW_COLUMNS = ("document", "field", "value", "confidence", "reason", "page", "table", "row", "col",
                  "source", "image", "bbox")

# Outputs get the usual permissions (mkstemp alone would leave them 0600).
_UMASK = os.umask(0)
os.umask(_UMASK)

_CELLS_PER_BATCH = 500_000  # per Parquet record batch: ~33 000 tidy rows, ~2 000 wide ones
_MAX_NAME_BYTES = 200  # leaves room for ".json" and the temp prefix/suffix under 255

_open_temps: set[str] = set()  # temp files this process is writing right now


@contextmanager
def atomic_open(path: Path, mode: str = "w", **kwargs) -> Iterator[IO]:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX)
    _open_temps.add(tmp)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    finally:
        _open_temps.discard(tmp)
    _fsync_dir(path.parent)


def remove_open_temps() -> None:
    """For a process about to exit without unwinding (os._exit): drop its half-written files."""
    for tmp in list(_open_temps):
        with suppress(FileNotFoundError):
            os.unlink(tmp)


def _fsync_dir(folder: Path) -> None:
    # The rename itself is only durable once the directory entry is on disk.
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_text_atomic(path: Path, text: str) -> None:
    with atomic_open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)


class OutputBusy(RuntimeError):
    """Another run is writing to the same output folder."""


@contextmanager
def exclusive(out: Path):
    """Hold the output folder for one run: a second run at the same time would delete the
    first's temp files as stale and interleave the CSVs. The lock goes with the process, so
    a killed run never leaves the folder locked."""
    fd = os.open(out / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputBusy(f"{out}: another nianbao run is writing to this folder") from None
        yield
    finally:
        os.close(fd)


def remove_stale_temps(out: Path) -> list[str]:
    """Temp files a killed run left behind (a kill -9 skips the cleanup in atomic_open)."""
    removed = []
    for entry in os.scandir(out):
        if entry.name.startswith(".") and entry.name.endswith(TMP_SUFFIX) and entry.is_file():
            with suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed.append(entry.name)
    return removed


def mark_output_dir(out: Path) -> None:
    (out / MARKER).touch()


def is_output_dir(folder: Path) -> bool:
    return (folder / MARKER).is_file()


def json_names(files: Iterable[Path]) -> dict[Path, str]:
    """The per-document JSON name of every input: `<file name>.json`, except where two inputs
    share a name (or the name is reserved or too long); those get a suffix hashed from the
    file's absolute path, so the choice does not depend on the order or the other inputs.
    A name that is not UTF-8 is given as os_text reads it."""
    shown = {f: os_text(f.name) for f in files}  # a name that is not UTF-8, as text
    counts = Counter(shown.values())
    names = {}
    for f, name in shown.items():
        if counts[name] > 1 or f"{name}.json" == SUMMARY or len(name.encode()) > _MAX_NAME_BYTES:
            digest = hashlib.sha1(os.fsencode(f.resolve())).hexdigest()[:10]
            short = name.encode()[:_MAX_NAME_BYTES - 11].decode(errors="ignore")
            name = f"{short}~{digest}"
        names[f] = f"{name}.json"
    return names


def document_json_paths(out: Path) -> list[Path]:
    return sorted(Path(e.path) for e in os.scandir(out)
                  if e.name.endswith(".json") and e.name != SUMMARY and e.is_file())


def read_record_header(path: Path) -> dict | None:
    """The fields resume needs from an earlier per-document JSON, or None if unusable."""
    try:
        with open(path, "rb") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    head = {k: data.get(k) for k in ("sha256", "extractor_version", "status", "error_code", "llm")}
    try:  # which sections an LLM would be asked about: a run with one needs to know
        rules = [RuleResult.model_validate(r) for r in data.get("rules") or []]
        head["unsettled"] = sorted(unsettled_sections(data.get("confidence") or {}, rules))
    except (ValidationError, TypeError, AttributeError):
        return None
    return head


def iter_results(out: Path) -> Iterator[tuple[Path, DocumentResult | None]]:
    """Every per-document JSON in `out`, parsed one at a time (None when it is not one of
    ours or is damaged), so a large run never holds all results in memory."""
    for path in document_json_paths(out):
        try:
            yield path, DocumentResult.model_validate_json(path.read_bytes())
        except (OSError, ValidationError):
            yield path, None


def grouped_results(out: Path) -> Iterator[tuple[Path, DocumentResult | None, duplicates.Placement | None]]:
    """iter_results, each report with its place among the reports of its body and year
    (flows.duplicates), flagged where another of them prints other figures. The folder is
    read twice: once to group (only the figures are kept), once to hand the results out."""
    placed = duplicates.place_results((document_id(p), r) for p, r in iter_results(out) if r is not None)
    for path, result in iter_results(out):
        placement = placed.get(document_id(path))
        yield path, result and duplicates.flag(result, placement), placement


def document_id(json_path: Path) -> str:
    """The `document` column of the CSVs: the JSON's own name without `.json`, which is the
    file name except where two inputs shared one."""
    return json_path.name[:-len(".json")]


class CsvWriter:
    """csv.writer for every CSV the project writes: each cell through spreadsheet_cell."""

    def __init__(self, fh: IO[str]):
        self._writer = csv.writer(fh)

    def writerow(self, row: Iterable) -> None:
        self._writer.writerow([spreadsheet_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable]) -> None:
        for row in rows:
            self.writerow(row)


@contextmanager
def dataset_csv(path: Path) -> Iterator[CsvWriter]:
    """A CSV of the dataset, written atomically with a BOM (CSV_ENCODING)."""
    with atomic_open(path, "w", encoding=CSV_ENCODING, newline="") as fh:
        yield CsvWriter(fh)


class TableSink:
    """One table of flows.tables as <name>.csv and <name>.parquet: CSV rows written as they
    come (cells by tables.csv_text), Parquet rows in record batches, so memory does not grow
    with the table. Both files are closed, and renamed into place, when the stack unwinds:
    `flush` first."""

    def __init__(self, stack: ExitStack, folder: Path, name: str, schema: pa.Schema):
        self.csv = stack.enter_context(dataset_csv(folder / f"{name}.csv"))
        self.csv.writerow(schema.names)
        self.schema = schema
        self.batch_rows = max(1, _CELLS_PER_BATCH // len(schema))
        # closed before its file is renamed into place, so the footer is in it
        self.parquet = stack.enter_context(closing(pq.ParquetWriter(
            stack.enter_context(atomic_open(folder / f"{name}.parquet", "wb")), schema)))
        self.rows: list[list] = []
        self.paths = [folder / f"{name}.csv", folder / f"{name}.parquet"]

    def add(self, row: list) -> None:
        self.csv.writerow(map(csv_text, row))
        self.rows.append(row)
        if len(self.rows) >= self.batch_rows:
            self.flush()

    def add_all(self, rows: Iterable[list]) -> None:
        for row in rows:
            self.add(row)

    def flush(self) -> None:
        if self.rows:
            self.parquet.write_batch(pa.record_batch(
                [parquet_array(list(c), f.type) for c, f in zip(zip(*self.rows), self.schema)],
                schema=self.schema))
            self.rows = []


def parquet_array(values: list, type_: pa.DataType) -> pa.Array:
    # Counts are stored as floats; a safe cast refuses to truncate one that is not whole
    # (pa.array(..., int64) would truncate 3.5 to 3 silently).
    if pa.types.is_integer(type_):
        return pa.array(values, pa.float64()).cast(type_)
    return pa.array(values, type_)


def write_dictionary(folder: Path) -> list[Path]:
    """dictionary.csv (every field key) and rules_dictionary.csv (the rules in words)."""
    written = []
    for name, columns, entries in ((DICTIONARY_CSV, FIELD_COLUMNS, field_entries()),
                                   (RULES_DICTIONARY_CSV, RULE_COLUMNS, rule_entries())):
        with dataset_csv(folder / name) as writer:
            writer.writerow(columns)
            writer.writerows([csv_text(e[c]) for c in columns] for e in entries)
        written.append(folder / name)
    return written


def write_workbook(folder: Path) -> Path:
    """nianbao.xlsx from the tables in `folder` (flows.workbook); run again after a
    coverage.csv comes into the folder, for its sheet."""
    with atomic_open(folder / workbook.NAME, "wb") as fh:
        workbook.write_workbook(fh, folder)
    return folder / workbook.NAME


def review_rows(doc: str, result: DocumentResult) -> Iterator[list[str]]:
    for item in result.review:
        prov = result.provenance.get(item.field)
        yield [doc, item.field, csv_text(result.fields.get(item.field)),
               csv_text(result.confidence.get(item.field)), csv_text(item.reason),
               *(csv_text(getattr(prov, a, None)) for a in ("page", "table", "row", "col", "source", "image")),
               _bbox(prov.bbox if prov is not None else None)]


def _bbox(bbox) -> str:
    """The crop to look at, in points of the page (or of the picture's page): "x0 y0 x1 y1"."""
    return "" if bbox is None else " ".join(f"{v:g}" for v in bbox)


def document_stats(result: DocumentResult, placement: duplicates.Placement | None = None) -> dict:
    failures = Counter(r.blame or "unknown" for r in result.rules if r.status == "fail")
    llm = result.llm
    return {"status": result.status, "error_code": result.error_code,
            "group": placement.group if placement else None, "role": placement.role if placement else None,
            "fields": len(result.fields), "flagged": len({i.field for i in result.review}),
            "rule_failures": dict(failures), "warnings": len(result.warnings),
            "llm_sections": Counter(a.status for a in llm.answers) if llm else Counter(),
            "llm_requests": llm.requests if llm else 0,
            "llm_tokens": llm.prompt_tokens + llm.completion_tokens if llm else 0}


def rebuild_tables(out: Path, paths: dict[str, str] | None = None) -> tuple[dict[str, dict], list[str]]:
    """Rewrite the dataset in `out` from every per-document JSON there: the tables fields,
    reports and rules (flows.tables; CSV and Parquet), review.csv, the dictionary and the
    workbook. `paths`: the input file of a JSON (by its name), where known. Of several
    reports of one body and year the wide table holds the primary, and the fields they print
    differently are flagged on each (flows.duplicates).

    Returns each document's stats keyed by JSON file name, and the JSON files that could
    not be read as results (they are left out of the tables)."""
    stats: dict[str, dict] = {}
    unreadable: list[str] = []
    paths = paths or {}
    with ExitStack() as stack:
        fields = TableSink(stack, out, FIELDS, tables.TIDY_SCHEMA)
        reports = TableSink(stack, out, REPORTS, tables.EXTRACT_WIDE_SCHEMA)
        rules = TableSink(stack, out, RULES, tables.RULES_SCHEMA)
        review = stack.enter_context(dataset_csv(out / REVIEW_CSV))
        review.writerow(REVIEW_COLUMNS)
        for path, result, placement in grouped_results(out):
            if result is None:
                unreadable.append(path.name)
                continue
            doc = document_id(path)
            head = tables.report_head(doc, result)
            fields.add_all(tables.tidy_rows(head, result, placement))
            if duplicates.in_wide_table(placement and placement.role):
                reports.add(tables.wide_row(doc, result, paths.get(path.name), placement))
            rules.add_all(tables.rule_rows(head, result, placement))
            review.writerows(review_rows(doc, result))
            stats[path.name] = document_stats(result, placement)
        for table in (fields, reports, rules):
            table.flush()
    write_dictionary(out)
    write_workbook(out)
    return stats, unreadable


def write_summary(out: Path, summary: dict) -> None:
    write_text_atomic(out / SUMMARY, json.dumps(_writable(summary), ensure_ascii=False, indent=1) + "\n")


def _writable(data):
    """`data` with every string made writable as UTF-8 (os_text): the summary quotes the
    inputs' paths, which need not be UTF-8."""
    if isinstance(data, str):
        return os_text(data)
    if isinstance(data, dict):
        return {_writable(k): _writable(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_writable(v) for v in data]
    return data
