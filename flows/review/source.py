"""What `nianbao review` opens: the output folder of `nianbao run` (its database), of
`nianbao extract` (its per-document JSON, loaded into a database beside it), a SQLite file,
or a database URL."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from .. import groups_db, outputs, store


class SourceError(ValueError):
    """Nothing to review at the place given."""


@dataclass
class Source:
    engine: Engine
    folder: Path | None  # the output folder: exports go to folder/export; None for a bare URL


def open_source(target: str) -> Source:
    if "://" in target:
        return Source(store.connect(store.database_url(target, Path("."))), None)
    path = Path(target).resolve()
    if path.is_file():
        return Source(store.connect(f"sqlite:///{path}"), path.parent)
    if not path.is_dir():
        raise SourceError(f"{target}: no such folder or database file")
    if (path / store.SQLITE_NAME).is_file():
        return Source(store.connect(store.database_url(None, path)), path)
    if outputs.is_output_dir(path):
        engine = store.connect(store.database_url(None, path))
        load_documents(engine, path)
        return Source(engine, path)
    raise SourceError(f"{target}: neither a nianbao output folder nor a database")


def load_documents(engine: Engine, folder: Path) -> int:
    """Save the per-document JSON of an `extract` output folder into the database, those not
    saved yet or changed since (by the JSON's hash). Raw files are found where the run's
    summary says they were read from (relative to the current folder, as they were given)."""
    summary = json.loads((folder / outputs.SUMMARY).read_text(encoding="utf-8"))
    saved = store.saved_reports(engine)
    run_id = functools.cache(lambda: store.start_run(engine, {"command": "review", "loaded": str(folder)}))
    count = 0
    for entry in summary.get("files", []):
        try:
            data = (folder / entry["json"]).read_bytes()
            sha256 = json.loads(data).get("sha256")
        except (OSError, ValueError, AttributeError):  # missing or damaged
            continue
        if not sha256:  # a file that could not be read: nothing in it to review
            continue
        count += store.save_if_changed(engine, data, sha256, {"raw_path": str(Path(entry["path"]).resolve())},
                                       run_id, saved)
    groups_db.regroup(engine)  # the reports of one body and year, what was just saved among them
    return count
