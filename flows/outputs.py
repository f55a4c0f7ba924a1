"""What `nianbao extract` leaves in its output folder, and how it gets there.

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
import re
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

from pydantic import ValidationError

from extractors.llm.asks import unsettled_sections
from extractors.result import DocumentResult, RuleResult, os_text

SUMMARY = "summary.json"
FIELDS_CSV = "fields.csv"
REVIEW_CSV = "review.csv"
# Marks a folder as ours, so a later run over a parent folder does not read our outputs.
MARKER = ".nianbao-out"
LOCK = ".nianbao-lock"
TMP_SUFFIX = ".nianbao-tmp"

FIELDS_COLUMNS = ("document", "template", "field", "value", "confidence", "flagged", "method")
REVIEW_COLUMNS = ("document", "field", "value", "confidence", "reason", "page", "table", "row", "col",
                  "source", "image", "bbox")

# Outputs get the usual permissions (mkstemp alone would leave them 0600).
_UMASK = os.umask(0)
os.umask(_UMASK)

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


def document_id(json_path: Path) -> str:
    """The `document` column of the CSVs: the JSON's own name without `.json`, which is the
    file name except where two inputs shared one."""
    return json_path.name[:-len(".json")]


def _cell(value) -> str:
    return "" if value is None else str(value)


# A cell a spreadsheet (Excel, WPS, LibreOffice) would run as a formula: OWASP's CSV
# injection list. Numbers such as -18 (a change) start with '-' too and stay numbers.
_FORMULA_START = frozenset("=+-@\t\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def spreadsheet_cell(value) -> str:
    """A value as a CSV cell that is safe to open in a spreadsheet: text that would start a
    formula gets a leading ' (shown as text, the rest as printed); text is made writable as
    UTF-8 (os_text). Parquet and the database keep the raw text."""
    text = "" if value is None else str(value)
    if not text.isascii():
        text = os_text(text)
    if text[:1] in _FORMULA_START and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


class CsvWriter:
    """csv.writer for every CSV the project writes: each cell through spreadsheet_cell."""

    def __init__(self, fh: IO[str]):
        self._writer = csv.writer(fh)

    def writerow(self, row: Iterable) -> None:
        self._writer.writerow([spreadsheet_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable]) -> None:
        for row in rows:
            self.writerow(row)


def field_rows(doc: str, result: DocumentResult) -> Iterator[list[str]]:
    flagged = {item.field for item in result.review}
    for key, value in result.fields.items():
        prov = result.provenance.get(key)
        yield [doc, _cell(result.template), key, _cell(value), _cell(result.confidence.get(key)),
               "true" if key in flagged else "false", prov.method if prov else ""]


def review_rows(doc: str, result: DocumentResult) -> Iterator[list[str]]:
    for item in result.review:
        prov = result.provenance.get(item.field)
        yield [doc, item.field, _cell(result.fields.get(item.field)),
               _cell(result.confidence.get(item.field)), item.reason,
               *(_cell(getattr(prov, a, None)) for a in ("page", "table", "row", "col", "source", "image")),
               _bbox(prov.bbox if prov is not None else None)]


def _bbox(bbox) -> str:
    """The crop to look at, in points of the page (or of the picture's page): "x0 y0 x1 y1"."""
    return "" if bbox is None else " ".join(f"{v:g}" for v in bbox)


def document_stats(result: DocumentResult) -> dict:
    failures = Counter(r.blame or "unknown" for r in result.rules if r.status == "fail")
    llm = result.llm
    return {"status": result.status, "error_code": result.error_code,
            "fields": len(result.fields), "flagged": len({i.field for i in result.review}),
            "rule_failures": dict(failures), "warnings": len(result.warnings),
            "llm_sections": Counter(a.status for a in llm.answers) if llm else Counter(),
            "llm_requests": llm.requests if llm else 0,
            "llm_tokens": llm.prompt_tokens + llm.completion_tokens if llm else 0}


def rebuild_tables(out: Path) -> tuple[dict[str, dict], list[str]]:
    """Rewrite fields.csv and review.csv from every per-document JSON in `out`.

    Returns each document's stats keyed by JSON file name, and the JSON files that could
    not be read as results (they are left out of the CSVs)."""
    stats: dict[str, dict] = {}
    unreadable: list[str] = []
    with atomic_open(out / FIELDS_CSV, "w", encoding="utf-8", newline="") as f_fh, \
            atomic_open(out / REVIEW_CSV, "w", encoding="utf-8", newline="") as r_fh:
        fields, review = CsvWriter(f_fh), CsvWriter(r_fh)
        fields.writerow(FIELDS_COLUMNS)
        review.writerow(REVIEW_COLUMNS)
        for path, result in iter_results(out):
            if result is None:
                unreadable.append(path.name)
                continue
            doc = document_id(path)
            fields.writerows(field_rows(doc, result))
            review.writerows(review_rows(doc, result))
            stats[path.name] = document_stats(result)
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
