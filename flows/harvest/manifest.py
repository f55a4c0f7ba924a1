"""The harvest manifest: a CSV of agency, year, url rows (kept free of Prefect, so the CLI
can check a manifest before Prefect loads).

As people make it: saved by Excel on Chinese Windows (GBK/GB18030, or UTF-8 with a BOM),
headed in Chinese (机关/单位, 年份/年度, 网址/链接), years written 2019年 or 2019年度, and
files already on disk named by their path (relative to the manifest) instead of a URL.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .crawl import Row


class ManifestError(ValueError):
    """A manifest that cannot be used: missing columns, a bad year, an unknown encoding."""


# Each column's names, English first (what error messages say)
COLUMNS = {
    "agency": ("agency", "机关", "单位", "机关名称", "单位名称", "部门", "名称"),
    "year": ("year", "年份", "年度", "年"),
    "url": ("url", "网址", "链接", "地址", "路径", "文件", "link", "path"),
}
_YEAR = re.compile(r"((?:19|20)\d\d)\s*(?:年度?)?")


def read_manifest(path: Path) -> list[Row]:
    """CSV with a header naming agency, year, url (or their Chinese names; other columns are
    ignored). A url that is no http(s) address is a file or folder on disk."""
    path = Path(path)
    text = _decode(path)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    names = {_normal(c): c for c in reader.fieldnames or [] if c}
    found = {key: next((names[n] for n in aliases if n in names), None) for key, aliases in COLUMNS.items()}
    missing = [key for key, column in found.items() if column is None]
    if missing:
        raise ManifestError(f"{path}: no column {', '.join(missing)} (the header must name agency, year, url; "
                            "or 机关/单位, 年份/年度, 网址/链接)")
    rows = []
    for number, raw in enumerate(reader, start=2):
        value = {key: unicodedata.normalize("NFKC", raw.get(column) or "").strip() for key, column in found.items()}
        if not value["url"]:
            continue
        year = value["year"]
        match = _YEAR.fullmatch(year)
        if year and not match:
            raise ManifestError(f"{path}, line {number}: year {year!r} is not a year (write 2019 or 2019年)")
        rows.append(Row(value["agency"], int(match.group(1)) if match else None, _where(value["url"], path)))
    return list(dict.fromkeys(rows))  # a row listed twice is crawled once


def _decode(path: Path) -> str:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):  # Excel's "CSV (UTF-8)", then Excel's CSV on Chinese Windows
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ManifestError(f"{path}: neither UTF-8 nor GB18030; save it from Excel as \"CSV UTF-8\"")


def _normal(name: str) -> str:
    return unicodedata.normalize("NFKC", name).strip().lower()


def _where(url: str, manifest: Path) -> str:
    """An http(s) URL as given; a file: URL or a path as an absolute path (relative to the manifest)."""
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("http", "https"):
        return url
    if scheme == "file":
        return str(Path(unquote(urlsplit(url).path)))
    local = Path(url).expanduser()
    return str(local if local.is_absolute() else (manifest.parent / local).resolve())
