"""What OCR read on a page, laid out as the document model wants it: table cells with their
text and score, and the text outside tables as visual lines, all in PDF points."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .engines import OcrBox, OcrEngine, tight_crop
from .page_image import PageImage
from .table_grid import ImageTable

_ASCII_END = re.compile(r"[A-Za-z0-9,.;:%)]$")
_ASCII_START = re.compile(r"^[A-Za-z0-9(]")

BBox = tuple[float, float, float, float]


@dataclass(slots=True)
class OcrLine:
    text: str
    bbox: BBox  # PDF points
    score: float


@dataclass(slots=True)
class OcrCell:
    row: int
    col: int
    rowspan: int
    colspan: int
    bbox: BBox
    text: str
    score: float | None  # lowest score of the lines read in the cell; None when it is empty


@dataclass(slots=True)
class OcrTable:
    bbox: BBox
    xs: list[float]  # column lines in points, left to right
    n_rows: int
    cells: list[OcrCell]


@dataclass(slots=True)
class OcrPage:
    lines: list[OcrLine]  # outside tables, top to bottom
    tables: list[OcrTable]  # top to bottom
    rotation: int = 0
    skew: float = 0.0


def join_text(a: str, b: str) -> str:
    """Chinese runs on without a space; Latin words and numbers need one between them."""
    if not a or not b:
        return a or b
    return a + " " + b if _ASCII_END.search(a) and _ASCII_START.match(b) else a + b


def text_line_crops(cell: np.ndarray, min_height: int) -> list[np.ndarray]:
    """A cell's text lines, top to bottom, each cut to its ink: rows of ink separated by
    blank rows. Runs lower than `min_height` are specks of noise, not text."""
    rows = (cell < 160).sum(axis=1) >= 2
    crops, start = [], None
    for y, on in enumerate(np.append(rows, False)):
        if on and start is None:
            start = y
        elif not on and start is not None:
            if y - start >= min_height:
                crops.append(tight_crop(cell[start:y]))
            start = None
    return crops


def read_tables(page: PageImage, clean: np.ndarray, tables: list[ImageTable], engine: OcrEngine,
                dpi: int) -> list[OcrTable]:
    """Each cell read line by line from the page with its rules erased; no text detection
    needed inside a table, since the rules already say where each cell's text is."""
    inset = max(2, dpi // 50)
    min_height = max(4, dpi // 30)
    jobs: list[tuple[int, int]] = []  # (table, cell) of each line crop, in order
    crops: list[np.ndarray] = []
    for t, table in enumerate(tables):
        for k, cell in enumerate(table.cells):
            x0, y0, x1, y1 = cell.rect
            inner = clean[y0 + inset:y1 - inset, x0 + inset:x1 - inset]
            if inner.size == 0:
                continue
            for crop in text_line_crops(inner, min_height):
                jobs.append((t, k))
                crops.append(crop)
    texts: dict[tuple[int, int], str] = {}
    scores: dict[tuple[int, int], float] = {}
    for key, (text, score) in zip(jobs, engine.read_lines(crops)):
        text = text.strip()
        if text:
            texts[key] = join_text(texts.get(key, ""), text)
            scores[key] = min(scores.get(key, 1.0), score)
    out = []
    for t, table in enumerate(tables):
        cells = [OcrCell(c.row, c.col, c.rowspan, c.colspan, page.bbox(c.rect),
                         texts.get((t, k), ""), scores.get((t, k)))
                 for k, c in enumerate(table.cells)]
        x0, y0, x1, y1 = table.rect
        xs = [page.bbox((x, y0, x, y1))[0] for x in table.xs]
        out.append(OcrTable(page.bbox(table.rect), xs, len(table.ys) - 1, cells))
    return out


def visual_lines(page: PageImage, boxes: list[OcrBox]) -> list[OcrLine]:
    """Detected boxes side by side on one printed line become one line, left to right."""
    boxes = sorted(boxes, key=lambda b: (b.rect[1] + b.rect[3]) / 2)
    groups: list[list[OcrBox]] = []
    for box in boxes:
        _, y0, _, y1 = box.rect
        last = groups[-1] if groups else None
        if last is not None:
            ly0 = min(b.rect[1] for b in last)
            ly1 = max(b.rect[3] for b in last)
            if min(y1, ly1) - max(y0, ly0) > 0.5 * min(y1 - y0, ly1 - ly0):
                last.append(box)
                continue
        groups.append([box])
    lines = []
    for group in groups:
        group.sort(key=lambda b: b.rect[0])
        text = ""
        for box in group:
            text = join_text(text, box.text.strip())
        rect = (min(b.rect[0] for b in group), min(b.rect[1] for b in group),
                max(b.rect[2] for b in group), max(b.rect[3] for b in group))
        lines.append(OcrLine(text, page.bbox(rect), min(b.score for b in group)))
    return lines
