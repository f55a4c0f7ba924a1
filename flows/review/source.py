"""What `nianbao review` opens: the output folder of `nianbao run` (its database), of
`nianbao extract` (its per-document JSON, loaded into a database beside it), a SQLite file,
or a database URL."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from extractors.result import DocumentResult

from .. import outputs, store


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
    run_id = None
    count = 0
    for entry in summary.get("files", []):
        data_path = folder / entry["json"]
        if not data_path.is_file():
            continue
        data = data_path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        result = DocumentResult.model_validate_json(data)
        if not result.sha256:  # a file that could not be read: nothing in it to review
            continue
        if saved.get(result.sha256, {}).get("result_sha256") == digest:
            continue
        if run_id is None:
            run_id = store.start_run(engine, {"command": "review", "loaded": str(folder)})
        store.save_result(engine, result, {"raw_path": str(Path(entry["path"]).resolve()),
                                           "result_sha256": digest}, run_id)
        count += 1
    return count
