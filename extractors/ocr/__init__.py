"""Offline OCR of scanned pages into the document model (issue 3).

`reader_engine()` is what the PDF reader asks for when a page has no usable text layer;
`read_page` (page_reader.py) turns such a page into lines and ruled tables in PDF points,
each with the recognizer's score.
"""

from __future__ import annotations

import os

from ..errors import ReadError
from .engines import DEFAULT_ENGINE, OcrEngine, get_engine
from .layout import OcrCell, OcrLine, OcrPage, OcrTable
from .page_reader import holds_table, read_page

__all__ = ["OcrCell", "OcrEngine", "OcrLine", "OcrPage", "OcrTable", "get_engine", "holds_table",
           "read_page", "reader_engine"]


def reader_engine() -> OcrEngine | None:
    """The engine for pages that need OCR, or None to leave them as pictures: when
    NIANBAO_OCR=off, or when the default engine's package is not installed. An engine named
    in NIANBAO_OCR_ENGINE that cannot start is an error, not a silent fallback."""
    if os.environ.get("NIANBAO_OCR", "on").strip().lower() in ("off", "0", "false", "no"):
        return None
    named = os.environ.get("NIANBAO_OCR_ENGINE")
    try:
        return get_engine(named)
    except ReadError:
        if named and named.strip().lower() != DEFAULT_ENGINE:
            raise
        return None
