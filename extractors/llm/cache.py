"""Answers kept on disk, one JSON file each, so that a rerun asks nothing it asked before.

The key is a hash of what decides an answer: the endpoint, the model, the answer mode, the
prompt version, the section and its rendered content. Only answers are kept, never failures, so a rerun
retries what failed. A lost or damaged entry costs one request, nothing more; that is why a
plain rename is enough here (no fsync).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

CACHE_FORMAT = 1


def cache_key(*parts: str) -> str:
    return hashlib.sha256(json.dumps([CACHE_FORMAT, *parts]).encode("utf-8")).hexdigest()


class AnswerCache:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        try:
            entry = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return entry if isinstance(entry, dict) and isinstance(entry.get("values"), dict) else None

    def put(self, key: str, entry: dict) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, suffix=".tmp",
                                         delete=False) as fh:
            json.dump(entry, fh, ensure_ascii=False)
        os.replace(fh.name, path)
