"""Tell a file's format from its first bytes (never from its extension)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body|meta|title|div|table|p)\b",
                         re.I | re.S)
_HTML_TAGS = re.compile(rb"<(table|tr|td|p|div|br)\b[^>]*>", re.I)


def sniff_format(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(8192)
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return _zip_format(path)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):  # OLE2: Word 97-2003 or WPS
        return "wps" if path.suffix.lower() in (".wps", ".et") else "doc"
    if head.startswith(b"{\\rtf"):
        return "rtf"
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"GIF8", b"BM")) \
            or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return "image"
    body = head.lstrip(b"\xef\xbb\xbf")
    if _HTML_START.match(body) or len(_HTML_TAGS.findall(body)) >= 3:
        return "html"
    if b"\x00" in head:
        return "binary"
    return "txt"


def _zip_format(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except zipfile.BadZipFile:
        return "binary"
    if "word/document.xml" in names:
        return "docx"
    if "content.xml" in names:
        return "odt"
    return "zip"
