"""Reading the reports to compare from what the pipeline leaves: a folder of per-document
JSON (`nianbao extract --out`), a `nianbao run` folder (its database), a SQLite file or a
PostgreSQL URL. Only reports read as reports (status ok) that name their body and year
are compared; the others are listed with why."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import Engine, func, select

from extractors.result import DocumentResult, Value
from extractors.standard_model import MONEY_KEYS

from .. import outputs, store


@dataclass
class Report:
    agency: str  # as named by the report (or the run's manifest)
    year: int
    template: str | None
    document: str
    fields: dict[str, Value]
    confidence: dict[str, float]
    flagged: set[str] = field(default_factory=set)  # in the review queue
    tabled: set[str] = field(default_factory=set)  # read from a table the report prints (blank cells too)
    report_id: int | None = None  # in the database it was read from


@dataclass
class Loaded:
    reports: list[Report]
    skipped: list[tuple[str, str]]  # (document, why)
    engine: Engine | None  # the database read, where results are stored too
    label: str  # the source, as shown in the report (a URL without its password)


class SourceError(ValueError):
    """A SOURCE that holds no reports compare can read."""


def is_database_url(source: str) -> bool:
    return source.startswith(("postgresql://", "postgres://", "postgresql+psycopg://", "sqlite:///"))


def load(source: str) -> Loaded:
    """The reports of SOURCE: a database URL, a SQLite file, a run folder (its database, else
    its documents/), or a folder of per-document JSON."""
    if is_database_url(source):
        return _from_database(store.database_url(source, Path(".")))
    path = Path(source)
    if path.is_file():
        with open(path, "rb") as fh:
            if fh.read(16) != b"SQLite format 3\x00":
                raise SourceError(f"{source}: a file that is not a SQLite database")
        return _from_database(f"sqlite:///{path.resolve()}")
    if not path.is_dir():
        raise SourceError(f"{source}: no such file or folder")
    if (path / store.SQLITE_NAME).is_file():
        return _from_database(f"sqlite:///{(path / store.SQLITE_NAME).resolve()}")
    folder = path / "documents" if (path / "documents").is_dir() else path
    return _from_folder(folder)


def _from_folder(folder: Path) -> Loaded:
    reports, skipped = [], []
    for json_path in outputs.document_json_paths(folder):
        doc = outputs.document_id(json_path)
        try:
            result = DocumentResult.model_validate_json(json_path.read_bytes())
        except (OSError, ValidationError) as err:
            skipped.append((doc, f"not a per-document JSON of nianbao ({type(err).__name__})"))
            continue
        if result.status != "ok":
            skipped.append((doc, f"status {result.status}"))
            continue
        flagged = {item.field for item in result.review}
        tabled = {k for k, p in result.provenance.items() if p.method == "table"}
        _add(reports, skipped, doc, result.fields.get("meta.agency"), result.fields.get("meta.year"),
             result.template, dict(result.fields), dict(result.confidence), flagged, tabled, None)
    if not reports and not skipped:
        raise SourceError(f"{folder}: no per-document JSON (an `extract --out` or `run` folder?)")
    return Loaded(reports, skipped, None, str(folder))


def _add(reports: list[Report], skipped: list, doc: str, agency, year, template, fields, confidence,
         flagged, tabled, report_id) -> None:
    if not isinstance(agency, str) or not agency.strip():
        skipped.append((doc, "the report names no body (meta.agency)"))
    elif not isinstance(year, int) or isinstance(year, bool):
        skipped.append((doc, "the report names no year (meta.year)"))
    else:
        reports.append(Report(agency.strip(), year, template, doc, fields, confidence, flagged, tabled,
                              report_id))


def _from_database(url: str) -> Loaded:
    try:
        engine = store.connect(url)
    except store.OldSchema:
        raise
    except Exception as err:  # a database that cannot be opened: say which and why
        raise SourceError(f"{url}: cannot open the database ({type(err).__name__}: {err})") from None
    label = engine.url.render_as_string(hide_password=True)
    r = store.reports.c
    rows = {row[0]: row for row in _rows(engine, select(r.id, r.document, r.agency, r.year, r.template, r.status))}
    values: dict[int, dict] = {i: {} for i in rows}
    confidence: dict[int, dict] = {i: {} for i in rows}
    flagged: dict[int, set] = {i: set() for i in rows}
    tabled: dict[int, set] = {i: set() for i in rows}
    f = store.fields.c
    # plain tuples and value_of inlined: a dataset's fields are millions of rows, and each
    # key one shared string rather than a copy per row
    keys: dict[str, str] = {}
    for rid, key, num, text, conf, flag, method in _rows(
            engine, select(f.report_id, f.key, f.value_num, f.value_text, f.confidence, f.flagged, f.method)):
        key = keys.setdefault(key, key)
        if num is None:
            values[rid][key] = text
        else:
            values[rid][key] = num if key in MONEY_KEYS or not num.is_integer() else int(num)
        if conf is not None:
            confidence[rid][key] = conf
        if flag:
            flagged[rid].add(key)
        if method == "table":
            tabled[rid].add(key)
    for rid, key, num, text in _reviewed(engine):  # a reviewer's decision stands for the machine's reading
        values[rid][key] = store.value_of(key, num, text)
        confidence[rid][key] = 1.0
        flagged[rid].discard(key)
    reports, skipped = [], []
    for rid, document, agency, year, template, status in rows.values():
        if status != "ok":
            skipped.append((document, f"status {status}"))
            continue
        _add(reports, skipped, document, agency or values[rid].get("meta.agency"),
             year or values[rid].get("meta.year"), template, values[rid], confidence[rid],
             flagged[rid], tabled[rid], rid)
    return Loaded(reports, skipped, engine, label)


def _reviewed(engine: Engine) -> Iterator:
    d = store.decisions.c
    latest = (select(func.max(d.id).label("id")).where(d.action != "skip")
              .group_by(d.report_id, d.field).subquery())
    yield from _rows(engine, select(d.report_id, d.field, d.value_num, d.value_text)
                     .where(d.id.in_(select(latest.c.id)), d.action != "undo"))  # undone: none


def _rows(engine: Engine, query) -> Iterator[tuple]:
    """The rows of a query without parameters, as the driver's plain tuples: the fields of a
    dataset are millions of rows, and SQLAlchemy's rows cost as much again as reading them."""
    sql = str(query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    conn = engine.raw_connection()
    try:
        cursor = conn.cursor()
        cursor.execute(sql)
        while batch := cursor.fetchmany(10_000):
            yield from batch
        cursor.close()
    finally:
        conn.close()
