"""What OCR read on a page, laid out as the document model wants it: table cells with their
text and score, and the text outside tables as visual lines.

Each thing read has two boxes, both in points: `bbox` on the PDF page as stored (the evidence
to crop), and `frame` on the page turned upright and level (what reading order and layout go
by: an upside-down page's last line is at the top of the stored page)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import cv2
import numpy as np

from .engines import OcrBox, OcrEngine, tight_crop
from .page_image import PageImage
from .table_grid import ImageTable

_ASCII_END = re.compile(r"[A-Za-z0-9,.;:%)]$")
_ASCII_START = re.compile(r"^[A-Za-z0-9(]")
_NUMBER = re.compile(r"^[+-]?\d[\d,.]*%?$")
_CJK = re.compile(r"[\u3400-\u9fff]")
_BLANK_MARKS = {"/", "\\", "-", "--", "—", "——", "–", "－", "―", "×", "x", "X"}
NUMBER_CHARS = "0123456789-.,% "
_ONE_LIKE = {"1", "l", "I", "|", "丨"}
SLASH_SLANT = 13.0  # degrees from vertical: between a "1" and a "/"
# Ink in a cell: clear print is at most this grey at its darkest (150–300 dpi scans: 0–60);
# print is faint up to FAINT_INK, past which a cell holds only paper noise and show-through.
INK_LEVEL = 64
FAINT_INK = 200
SHAPE_ONLY_SCORE = 0.6  # a character inferred from its shape, not read: under review's bar

BBox = tuple[float, float, float, float]


@dataclass(slots=True)
class OcrLine:
    text: str
    bbox: BBox  # on the stored page
    score: float
    frame: BBox  # on the upright page


@dataclass(slots=True)
class OcrCell:
    row: int
    col: int
    rowspan: int
    colspan: int
    bbox: BBox
    text: str
    score: float | None  # lowest score of the lines read in the cell (0 for ink read as
    # nothing); None when it has no ink
    # Readings of a one-line cell that is not words, with their scores, best first: what the
    # template's arithmetic may choose between (extractors/template/settle.py)
    candidates: list[tuple[str, float]] = field(default_factory=list)


@dataclass(slots=True)
class OcrTable:
    bbox: BBox  # on the stored page
    frame: BBox  # on the upright page
    xs: list[float]  # column lines on the upright page, left to right
    n_rows: int
    cells: list[OcrCell]  # bboxes on the stored page


@dataclass(slots=True)
class OcrPage:
    lines: list[OcrLine]  # outside tables, top to bottom of the upright page
    tables: list[OcrTable]  # top to bottom of the upright page
    size: tuple[float, float]  # width and height of the upright page in points
    rotation: int = 0
    skew: float = 0.0
    notes: list[str] = field(default_factory=list)  # what was left out, e.g. a grid over a limit


def join_text(a: str, b: str) -> str:
    """Chinese runs on without a space; Latin words and numbers need one between them."""
    if not a or not b:
        return a or b
    return a + " " + b if _ASCII_END.search(a) and _ASCII_START.match(b) else a + b


def text_line_crops(cell: np.ndarray, min_height: int, max_gap: int) -> list[np.ndarray]:
    """A cell's text lines, top to bottom, each cut to its ink: rows of ink separated by
    blank rows. A gap of at most `max_gap` rows is inside a glyph (the thin diagonal of a
    blurred 2 or 7), not between lines; runs lower than `min_height` are specks of noise."""
    rows = np.flatnonzero((cell < 160).sum(axis=1) >= 2)
    if rows.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(rows) > max_gap + 1)
    starts = np.append(rows[0], rows[breaks + 1])
    ends = np.append(rows[breaks], rows[-1]) + 1
    return [tight_crop(cell[a:b]) for a, b in zip(starts, ends) if b - a >= min_height]


def darken_faint_ink(cell: np.ndarray) -> np.ndarray:
    """A cell whose darkest ink is pale (thin strokes blurred by a scan, faded toner) with its
    contrast stretched so that the ink is as dark as clear print's: the ink threshold of the
    crops below would see only the cores of its strokes, or nothing. Cells of clear print,
    and cells holding nothing darker than paper noise, are left as they are."""
    darkest = int(cv2.medianBlur(cell, 3).min()) if min(cell.shape) >= 3 else int(cell.min())
    if not INK_LEVEL < darkest < FAINT_INK:
        return cell
    lut = 255 - (255 - np.arange(256, dtype=np.float32)) * ((255 - INK_LEVEL) / (255 - darkest))
    return lut.clip(0, 255).astype(np.uint8)[cell]


def for_recognizer(crop: np.ndarray) -> np.ndarray:
    """A cell's line as the recognizer reads it best: doubled (cubic) so that glyphs of a
    150-dpi scan keep their shape through the recognizer's resize to 48 px, then a 3×3 median
    that removes scanner noise and JPEG ringing but keeps strokes (measured on the eval scans:
    lone digits misread 34 → 17 of 1479 cells, reads under 0.7 191 → 75)."""
    return cv2.medianBlur(cv2.resize(crop, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC), 3)


def needs_number_reading(text: str) -> bool:
    """A cell reading that is neither a number, a blank mark nor words: a number the
    recognizer took for letters or symbols on a noisy scan (0 → o, D, □; 1 → I; - → ：)."""
    compact = "".join(text.split())
    return bool(compact) and not _NUMBER.match(compact) and compact not in _BLANK_MARKS \
        and not _CJK.search(compact)


def read_tables(page: PageImage, clean: np.ndarray, tables: list[ImageTable], engine: OcrEngine,
                dpi: int) -> list[OcrTable]:
    """Each cell read line by line from the page with its rules erased; no text detection
    needed inside a table, since the rules already say where each cell's text is.

    A line with ink that reads as nothing scores 0, so that its cell is reviewed rather than
    taken as blank. Cells that read as neither number nor words are read again as a number."""
    inset = max(2, dpi // 50)
    min_height = max(4, dpi // 30)
    max_gap = max(1, dpi // 80)
    jobs: list[tuple[int, int]] = []  # (table, cell) of each line crop, in order
    crops: list[np.ndarray] = []
    for t, table in enumerate(tables):
        for k, cell in enumerate(table.cells):
            x0, y0, x1, y1 = cell.rect
            inner = clean[y0 + inset:y1 - inset, x0 + inset:x1 - inset]
            if inner.size == 0:
                continue
            inner = darken_faint_ink(inner)
            for crop in text_line_crops(inner, min_height, max_gap):
                jobs.append((t, k))
                crops.append(for_recognizer(crop))
    reads, alts = _read_with_alternatives(engine, crops)
    texts = _cell_texts(jobs, reads)
    again = [j for j, key in enumerate(jobs) if needs_number_reading(texts.get(key, ""))]
    for j, read in zip(again, engine.read_lines([crops[j] for j in again], charset=NUMBER_CHARS)):
        # Taken only when it reads the same glyphs: "：1" → "1" drops a minus sign, while the
        # first reading stays a garbled cell, which review catches.
        if len(read[0].replace(" ", "")) == len(reads[j][0].strip().replace(" ", "")):
            reads[j] = read
        elif read[0].isdigit() and _starts_with_minus(crops[j]):
            # the dash the recognizer took for "：" or "一", seen by its shape only: a speck
            # of noise can look the same, so the field goes to review
            reads[j] = ("-" + read[0], min(read[1], SHAPE_ONLY_SCORE))
    for j, (text, score) in enumerate(reads):
        if "." in text and _NUMBER.match("".join(text.split())) and not _has_dot(crops[j]):
            # digits printed apart ("1 0") read with a point between them
            reads[j] = (text.replace(".", " "), score)
        elif text.strip() in _ONE_LIKE and _slant(crops[j]) > SLASH_SLANT:
            # A "1" that leans like the "/" of a blank cell (thin or 1-bit scans); the lean was
            # measured on two typefaces only, and a 7 or a 1 of another leans as much. So the
            # shape adds "/" beside the reading at the same score, shown but in doubt: the
            # table's arithmetic chooses between them (and the recognizer's runners-up).
            alts[j] = [("/", alts[j][0][1] if alts[j] else score)] + alts[j]
            reads[j] = ("/", min(score, SHAPE_ONLY_SCORE))
    texts = _cell_texts(jobs, reads)
    scores: dict[tuple[int, int], float] = {}
    lines: dict[tuple[int, int], list[int]] = {}
    for j, (key, (_, score)) in enumerate(zip(jobs, reads)):
        scores[key] = min(scores.get(key, 1.0), score)
        lines.setdefault(key, []).append(j)
    candidates = {key: _candidates(texts[key], alts[js[0]])
                  for key, js in lines.items() if len(js) == 1 and not _CJK.search(texts[key])}
    out = []
    for t, table in enumerate(tables):
        cells = [OcrCell(c.row, c.col, c.rowspan, c.colspan, page.bbox(c.rect),
                         texts.get((t, k), ""), scores.get((t, k)), candidates.get((t, k), []))
                 for k, c in enumerate(table.cells)]
        out.append(OcrTable(page.bbox(table.rect), frame_box(table.rect, dpi),
                            [round(x * 72 / dpi, 2) for x in table.xs], len(table.ys) - 1, cells))
    return out


def _read_with_alternatives(engine: OcrEngine, crops: list[np.ndarray]):
    """Each crop's reading, and its alternatives where the engine gives them (RapidOCR)."""
    read = getattr(engine, "read_alternatives", None)
    if read is None:
        return engine.read_lines(crops), [[] for _ in crops]
    out = read(crops)
    return [(text, score) for text, score, _ in out], [alts for _, _, alts in out]


def _candidates(text: str, alts: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """The recogniser's alternatives, with the reading the cell shows among them (a digit
    re-read or a shape test may have made it; it scores as the best where not read so)."""
    found = dict(alts)
    if alts and text not in found:
        found[text] = max(found.values())
    return sorted(found.items(), key=lambda c: -c[1]) if len(found) > 1 else []


def frame_box(rect: tuple[float, float, float, float], dpi: int) -> BBox:
    """A pixel rectangle of the upright, level page image in points of that page."""
    x0, y0, x1, y1 = (round(v * 72 / dpi, 2) for v in rect)
    return x0, y0, x1, y1


def _slant(crop: np.ndarray) -> float:
    """Degrees the line's ink leans from the vertical, along its principal axis: a "/" leans
    17–22°, a "1" under 8° (measured on Song and Helvetica at 150 dpi, grey and 1-bit)."""
    ys, xs = np.nonzero(crop < 160)
    if xs.size < 5:
        return 0.0
    _, vectors = np.linalg.eigh(np.cov(np.vstack([xs - xs.mean(), ys - ys.mean()])))
    vx, vy = vectors[:, 1]
    return float(np.degrees(np.arctan2(abs(vx), abs(vy))))


def _starts_with_minus(crop: np.ndarray) -> bool:
    """Whether the line's first glyph is a minus: one blob, wider than high, at mid-height
    (a short minus on a blurred 200-dpi scan is barely wider than high)."""
    ink = (crop < 160).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    blobs = sorted((tuple(s) for s in stats[1:count] if s[4] >= 3), key=lambda s: s[0])
    if len(blobs) < 2:
        return False
    x, y, w, h, _ = blobs[0]
    top = min(b[1] for b in blobs)
    height = max(b[1] + b[3] for b in blobs) - top
    flat = w >= 1.2 * h and h <= 0.25 * height
    mid = 0.3 * height <= y + h / 2 - top <= 0.7 * height
    return bool(flat and mid and x + w < blobs[1][0])


def _has_dot(crop: np.ndarray) -> bool:
    """Whether the line has a blob small enough to be a decimal point, in its lower half."""
    ink = (crop < 160).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    height = crop.shape[0]
    return any(h < 0.3 * height and w < 0.3 * height and y + h / 2 > 0.55 * height
               for _, y, w, h, _ in stats[1:count])


def _cell_texts(jobs: list[tuple[int, int]], reads: list[tuple[str, float]]) -> dict[tuple[int, int], str]:
    texts: dict[tuple[int, int], str] = {}
    for key, (text, _) in zip(jobs, reads):
        texts[key] = join_text(texts.get(key, ""), text.strip())
    return texts


def visual_lines(page: PageImage, boxes: list[OcrBox], dpi: int) -> list[OcrLine]:
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
        lines.append(OcrLine(text, page.bbox(rect), min(b.score for b in group), frame_box(rect, dpi)))
    return lines
