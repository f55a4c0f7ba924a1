"""One page through OCR: image → upright and level → tables from their rules → cells read
line by line → the text outside tables detected and read."""

from __future__ import annotations

import cv2
import numpy as np
import pymupdf

from .engines import OcrEngine
from .layout import OcrPage, read_tables, visual_lines
from .page_image import DPI, flatten, ink_mask, level, prepare, render
from .table_grid import find_rules, find_tables


def read_page(page: pymupdf.Page, engine: OcrEngine, dpi: int = DPI, tables: bool = True) -> OcrPage:
    """`tables=False` reads every line as body text (no table step), for timing and for pages
    whose rules mislead."""
    prepared = prepare(page, engine, dpi)
    image = prepared.image
    found, read, notes = [], [], []
    body = image
    if tables:
        rules = find_rules(ink_mask(image), dpi)
        found = find_tables(rules, dpi, notes)
        if found:
            # The tables' rules erased, so cell crops see only text; rules outside tables
            # may be strokes of large glyphs and stay.
            in_tables = np.zeros_like(image)
            for t in found:
                x0, y0, x1, y1 = t.rect
                in_tables[max(0, y0 - 4):y1 + 5, max(0, x0 - 4):x1 + 5] = 255
            erase = cv2.dilate(rules.both, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))) & in_tables
            clean = image.copy()
            clean[erase > 0] = 255
            read = read_tables(prepared, clean, found, engine, dpi)
            body = image.copy()
            body[in_tables > 0] = 255
    lines = visual_lines(prepared, engine.recognize(body), dpi) if _has_ink(body) else []
    h, w = image.shape
    return OcrPage(lines, read, (w * 72 / dpi, h * 72 / dpi), prepared.rotation, prepared.skew, notes)


def _has_ink(image: np.ndarray) -> bool:
    return bool((image < 128).any())


def holds_table(page: pymupdf.Page, dpi: int = DPI, min_cells: int = 6) -> bool:
    """Whether the page (a picture pasted in a document) draws a ruled table: the cheap test,
    with no OCR, of whether a picture is worth reading. Levelled first, since a rule a degree
    askew breaks into runs too short to be taken for a rule."""
    gray, _, _ = level(flatten(render(page, dpi), dpi))
    return any(len(t.cells) >= min_cells for t in find_tables(find_rules(ink_mask(gray), dpi), dpi))
