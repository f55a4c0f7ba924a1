"""Readers: one per format, each turning a file into the one Document model.

`read(path)` picks the reader from the file's bytes, not its name, since portals serve
PDFs named .doc and HTML named .pdf.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..document import Document
from ..errors import ReadError
from .sniff import sniff_format

if TYPE_CHECKING:
    from .pictures import Loader

MAX_BYTES = int(os.environ.get("NIANBAO_MAX_BYTES", 200 * 1024 * 1024))


def check_size(path: Path) -> None:
    size = path.stat().st_size
    if size == 0:
        raise ReadError("empty", f"{path.name}: the file is empty")
    if size > MAX_BYTES:
        raise ReadError("too_large", f"{path.name}: {size} bytes is over the {MAX_BYTES}-byte limit "
                        "(set NIANBAO_MAX_BYTES to raise it)")


def read(path: str | os.PathLike) -> Document:
    path = Path(path)
    check_size(path)
    fmt = sniff_format(path)
    if fmt == "txt":
        from .text_dump import read_text_dump as reader
    elif fmt == "html":
        from .html import read_html as reader
    elif fmt == "docx":
        from .docx import read_docx as reader
    elif fmt == "pdf":
        from .pdf import read_pdf as reader
    elif fmt in ("doc", "wps", "rtf", "odt"):
        from .office import read_office as reader
    elif fmt == "image":
        from .pictures import read_image as reader
    else:
        raise ReadError("unsupported", f"{path.name}: unsupported file type ({fmt})")
    return reader(path)


def read_native(path: str | os.PathLike) -> tuple[Document, Loader]:
    """A file's text and native tables as `read` gives them, with no picture read (no OCR):
    the document and a loader of its pictures by the names the document gives them. Table
    ids are the reader's: tables read from pictures later are numbered in among them (see
    pictures._renumber_tables). Text dumps, HTML, DOCX and LibreOffice's formats; PDFs and
    images have no native tables."""
    path = Path(path)
    check_size(path)
    fmt = sniff_format(path)
    if fmt == "txt":
        from .text_dump import read_text_dump

        return read_text_dump(path), lambda name: None
    if fmt == "html":
        from .html import read_html_native as reader
    elif fmt == "docx":
        from .docx import read_docx_native as reader
    elif fmt in ("doc", "wps", "rtf", "odt"):
        from .office import read_office_native as reader
    else:
        raise ReadError("unsupported", f"{path.name}: no native tables in a {fmt} file")
    return reader(path)
