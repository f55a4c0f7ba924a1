"""The raw store: every file fetched, once per content, and a manifest of what was fetched
from where, so that a rerun fetches only what is missing (or, with --refresh, changed) and
extraction can be redone from here without going back to the portals.

    RAW/objects/ab/<sha256>.<format>   the files, named by content (duplicates stored once)
    RAW/manifest.sqlite                fetches and crawls (SQLite: a killed harvest leaves it whole)
    RAW/manifest.csv                   the fetches table for people, rewritten after each harvest
    RAW/coverage.csv                   every manifest row's outcome (flows.harvest.coverage)

A fetch and a crawl are recorded per manifest row (url, agency, year): one file taken by two
rows has both rows' records, and a new row naming a known listing is a crawl of its own.

An object is renamed into place before its row is committed, so a row never points at a
missing file; a file without a row (killed in between) is simply fetched again and found.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from extractors.readers.sniff import sniff_format

from ..outputs import CsvWriter, atomic_open

FETCH_COLUMNS = ("url", "final_url", "fetched_at", "status", "http_status", "sha256", "size", "format",
                 "role", "agency", "year", "source", "parent", "etag", "last_modified", "error",
                 "filename", "label", "mismatch")
CRAWL_COLUMNS = ("source", "agency", "year", "finished_at", "status", "reports", "note", "outcome", "reason")
# A fetch is recorded per manifest row (source, agency, year): one file fetched for two rows
# keeps both rows' records. agency and year are '' when missing (NULLs are never equal).
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS fetches (
    id INTEGER PRIMARY KEY, {', '.join(c + ' TEXT' for c in FETCH_COLUMNS)},
    UNIQUE (url, source, agency, year));
CREATE INDEX IF NOT EXISTS fetches_sha ON fetches (sha256);
CREATE INDEX IF NOT EXISTS fetches_url ON fetches (url);
CREATE INDEX IF NOT EXISTS fetches_row ON fetches (source, agency, year);
CREATE TABLE IF NOT EXISTS crawls (
    source TEXT, agency TEXT, year TEXT, finished_at TEXT, status TEXT, reports INTEGER, note TEXT,
    outcome TEXT, reason TEXT, PRIMARY KEY (source, agency, year));
"""
SCHEMA_VERSION = 2
# Formats taken for reports; everything else fetched (pages, archives) is a way to them.
REPORT_FORMATS = frozenset({"pdf", "doc", "docx", "wps", "rtf", "odt", "html", "image", "txt"})
# In a ZIP beside a report, a text file is its readme (说明.txt), not a report.
MEMBER_FORMATS = REPORT_FORMATS - {"txt"}


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class RawStore:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        (self.folder / "objects").mkdir(parents=True, exist_ok=True)
        self.workdir = self.folder / "tmp"
        self.workdir.mkdir(exist_ok=True)
        for stale in self.workdir.iterdir():  # downloads of a killed harvest
            stale.unlink(missing_ok=True)
        self._db = sqlite3.connect(self.folder / "manifest.sqlite", check_same_thread=False,
                                   isolation_level=None, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._lock = threading.Lock()
        with self._tx() as db:
            _migrate(db)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    # -- objects ----------------------------------------------------------------------

    def object_path(self, sha256: str, fmt: str) -> Path:
        return self.folder / "objects" / sha256[:2] / f"{sha256}.{fmt}"

    def keep(self, tmp: Path, sha256: str, suffix_hint: str = "") -> tuple[Path, str]:
        """Move a downloaded temp file into the store (or drop it: the content is there
        already); returns the object's path and format."""
        fmt = sniff_format(tmp)
        if fmt == "doc" and suffix_hint.lower().endswith(".wps"):
            fmt = "wps"  # WPS and Word 97 share the OLE2 container; only the name tells
        path = self.object_path(sha256, fmt)
        if path.exists():
            tmp.unlink()
        else:
            path.parent.mkdir(exist_ok=True)
            os.replace(tmp, path)
        return path, fmt

    def keep_copy(self, source: Path) -> tuple[Path, str, str, int]:
        """A file already on disk copied into the store; its object's path, format, sha256, size."""
        digest, size = hashlib.sha256(), 0
        fd, tmp = tempfile.mkstemp(dir=self.workdir, prefix=".local-", suffix=".part")
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            while chunk := src.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        path, fmt = self.keep(Path(tmp), digest.hexdigest(), source.name)
        return path, fmt, digest.hexdigest(), size

    # -- the manifest -----------------------------------------------------------------

    def record(self, **row) -> None:
        row.setdefault("fetched_at", now())
        row["agency"], row["year"] = row.get("agency") or "", row.get("year") or ""
        values = [None if row.get(c) is None else str(row.get(c)) for c in FETCH_COLUMNS]
        with self._tx() as db:
            db.execute(f"INSERT OR REPLACE INTO fetches ({', '.join(FETCH_COLUMNS)}) VALUES "
                       f"({', '.join('?' * len(FETCH_COLUMNS))})", values)

    def set_role(self, url: str, row, role: str, mismatch: str | None = None) -> None:
        """`row`: the manifest row (source, agency, year) whose record this is."""
        with self._tx() as db:
            db.execute("UPDATE fetches SET role = ?, mismatch = ? WHERE url = ? AND source = ? AND agency = ? "
                       "AND year = ?", (role, mismatch, url, *_key(row)))

    def fetched(self, url: str, row) -> dict | None:
        """This row's record of `url`."""
        return self._one(f"SELECT {', '.join(FETCH_COLUMNS)} FROM fetches WHERE url = ? AND source = ? "
                         "AND agency = ? AND year = ?", (url, *_key(row)))

    def fetched_ok(self, url: str) -> dict | None:
        """The latest good fetch of `url` for any row: a listing read for one year serves the next."""
        return self._one(f"SELECT {', '.join(FETCH_COLUMNS)} FROM fetches WHERE url = ? AND status = 'ok' "
                         "ORDER BY fetched_at DESC, id DESC LIMIT 1", (url,))

    def _one(self, sql: str, args: tuple) -> dict | None:
        with self._lock:
            row = self._db.execute(sql, args).fetchone()
        return dict(zip(FETCH_COLUMNS, row)) if row else None

    def of_row(self, row) -> list[dict]:
        with self._lock:
            rows = self._db.execute(f"SELECT {', '.join(FETCH_COLUMNS)} FROM fetches WHERE source = ? AND agency = ? "
                                    "AND year = ? ORDER BY id", _key(row)).fetchall()
        return [dict(zip(FETCH_COLUMNS, r)) for r in rows]

    def crawled(self, row) -> bool:
        """Crawled to the end and a report taken. A row that found none is crawled again (its
        listing may have grown; files come from the store); so is a crawl of version 1,
        whose outcome is not known."""
        with self._lock:
            return self._db.execute("SELECT 1 FROM crawls WHERE source = ? AND agency = ? AND year = ? "
                                    "AND status = 'done' AND outcome IN ('found', 'agency mismatch')",
                                    _key(row)).fetchone() is not None

    def finish_crawl(self, row, status: str, reports: int, note: str = "", outcome: str = "",
                     reason: str = "") -> None:
        with self._tx() as db:
            db.execute(f"INSERT OR REPLACE INTO crawls ({', '.join(CRAWL_COLUMNS)}) VALUES "
                       f"({', '.join('?' * len(CRAWL_COLUMNS))})",
                       (*_key(row), now(), status, reports, note, outcome, reason))

    def crawl(self, row) -> dict | None:
        with self._lock:
            got = self._db.execute(f"SELECT {', '.join(CRAWL_COLUMNS)} FROM crawls WHERE source = ? AND agency = ? "
                                   "AND year = ?", _key(row)).fetchone()
        return dict(zip(CRAWL_COLUMNS, got)) if got else None

    def reports(self) -> list[dict]:
        """One row per report file in the store (by content), with the first row that took it
        as its report (a row whose year the file contradicts never takes it)."""
        with self._lock:
            cur = self._db.execute(
                f"SELECT {', '.join(FETCH_COLUMNS)} FROM fetches WHERE role = 'report' AND status = 'ok' "
                "ORDER BY id")
            rows = [dict(zip(FETCH_COLUMNS, r)) for r in cur.fetchall()]
        first: dict[str, dict] = {}
        for row in rows:
            first.setdefault(row["sha256"], row)
        for row in first.values():
            row["path"] = str(self.object_path(row["sha256"], row["format"]))
        return list(first.values())

    def write_csv(self) -> Path:
        path = self.folder / "manifest.csv"
        with self._lock:
            rows = self._db.execute(f"SELECT {', '.join(FETCH_COLUMNS)} FROM fetches ORDER BY id").fetchall()
        with atomic_open(path, "w", encoding="utf-8", newline="") as fh:
            writer = CsvWriter(fh)
            writer.writerow(FETCH_COLUMNS)
            writer.writerows(rows)
        return path


def _key(row) -> tuple[str, str, str]:
    """A manifest row's key in the tables: (source, agency, year), '' for a missing one."""
    return row.url, row.agency or "", str(row.year or "")


def _migrate(db: sqlite3.Connection) -> None:
    """Tables of version 1 (one fetch per url and source, one crawl per source) rebuilt as
    version 2's, their rows kept."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if version < SCHEMA_VERSION and "fetches" in tables:
        db.execute("DROP INDEX IF EXISTS fetches_sha")
        db.execute("ALTER TABLE fetches RENAME TO fetches_v1")
        db.execute("ALTER TABLE crawls RENAME TO crawls_v1")
        _create(db)
        old = [r[1] for r in db.execute("PRAGMA table_info(fetches_v1)")]
        kept = [c for c in FETCH_COLUMNS if c in old and c not in ("agency", "year")]
        db.execute(f"INSERT OR REPLACE INTO fetches ({', '.join(kept)}, agency, year) SELECT {', '.join(kept)}, "
                   "coalesce(agency, ''), coalesce(year, '') FROM fetches_v1 ORDER BY id")
        db.execute("INSERT OR REPLACE INTO crawls (source, agency, year, finished_at, status, reports, note) "
                   "SELECT source, coalesce(agency, ''), coalesce(year, ''), finished_at, status, reports, note "
                   "FROM crawls_v1")
        db.execute("DROP TABLE fetches_v1")
        db.execute("DROP TABLE crawls_v1")
    else:
        _create(db)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _create(db: sqlite3.Connection) -> None:
    for statement in filter(str.strip, _SCHEMA.split(";")):
        db.execute(statement)
