"""The harvest manifest: a CSV of agency, year, url rows (kept free of Prefect, so the CLI
can check a manifest before Prefect loads)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from .crawl import Row


class ManifestError(ValueError):
    """A manifest that cannot be used: missing columns, a bad year, not UTF-8."""


def read_manifest(path: Path) -> list[Row]:
    """CSV with a header naming `agency`, `year`, `url` (other columns are ignored)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            missing = {"agency", "year", "url"} - {c.strip().lower() for c in reader.fieldnames or []}
            if missing:
                raise ManifestError(f"{path}: no column {', '.join(sorted(missing))} "
                                    "(the header must name agency, year, url)")
            rows = []
            for number, raw in enumerate(reader, start=2):
                row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k}
                if not row["url"]:
                    continue
                year = row["year"]
                if year and not re.fullmatch(r"(19|20)\d\d", year):
                    raise ManifestError(f"{path}, line {number}: year {year!r} is not a year")
                rows.append(Row(row["agency"], int(year) if year else None, row["url"]))
    except UnicodeDecodeError as err:
        raise ManifestError(f"{path}: not UTF-8 ({err})") from err
    return list(dict.fromkeys(rows))  # a row listed twice is crawled once
