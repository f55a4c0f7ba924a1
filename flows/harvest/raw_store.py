"""The raw store: every file fetched, once per content, and a manifest of what was fetched
from where, so that a rerun fetches only what is missing (or, with --refresh, changed) and
extraction can be redone from here without going back to the portals.

    RAW/objects/ab/<sha256>.<format>   the files, named by content (duplicates stored once)
    RAW/manifest.sqlite                fetches and crawls (SQLite: a killed harvest leaves it whole)
    RAW/manifest.csv                   the fetches table for people, rewritten after each harvest

An object is renamed into place before its row is committed, so a row never points at a
missing file; a file without a row (killed in between) is simply fetched again and found.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from extractors.readers.sniff import sniff_format

from ..outputs import CsvWriter, atomic_open

FETCH_COLUMNS = ("url", "final_url", "fetched_at", "status", "http_status", "sha256", "size", "format",
                 "role", "agency", "year", "source", "parent", "etag", "last_modified", "error")
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS fetches (
    id INTEGER PRIMARY KEY, {', '.join(c + ' TEXT' for c in FETCH_COLUMNS)},
    UNIQUE (url, source));
CREATE INDEX IF NOT EXISTS fetches_sha ON fetches (sha256);
CREATE TABLE IF NOT EXISTS crawls (
    source TEXT PRIMARY KEY, agency TEXT, year TEXT, finished_at TEXT, status TEXT, reports INTEGER, note TEXT);
"""
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
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

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

    # -- the manifest -----------------------------------------------------------------

    def record(self, **row) -> None:
        row.setdefault("fetched_at", now())
        values = [None if row.get(c) is None else str(row.get(c)) for c in FETCH_COLUMNS]
        with self._tx() as db:
            db.execute(f"INSERT OR REPLACE INTO fetches ({', '.join(FETCH_COLUMNS)}) VALUES "
                       f"({', '.join('?' * len(FETCH_COLUMNS))})", values)

    def set_role(self, url: str, source: str, role: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE fetches SET role = ? WHERE url = ? AND source = ?", (role, url, source))

    def fetched(self, url: str, source: str) -> dict | None:
        with self._lock:
            cur = self._db.execute(f"SELECT {', '.join(FETCH_COLUMNS)} FROM fetches WHERE url = ? AND source = ?",
                                   (url, source))
            row = cur.fetchone()
        return dict(zip(FETCH_COLUMNS, row)) if row else None

    def crawled(self, source: str) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM crawls WHERE source = ? AND status = 'done'",
                                    (source,)).fetchone() is not None

    def finish_crawl(self, source: str, agency: str, year: str, status: str, reports: int, note: str = "") -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO crawls VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (source, agency, year, now(), status, reports, note))

    def reports(self) -> list[dict]:
        """One row per report file in the store (by content), with the first source that led to it."""
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
