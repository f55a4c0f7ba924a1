"""Template tables pasted as pictures, as portals publish many DOCX and HTML reports (above
all 三's big requests table).

A table is drawn by the PDF renderer on one page tall enough to hold it whole, so it never
breaks and stays one image; that page is rasterised in grayscale, cut to the table's ruling
lines plus a small white margin, and stored as a clean PNG (a screenshot) or as a JPEG
degraded like a scan (a photo or scan of a printout).
"""

from __future__ import annotations

import math
import random

import cv2
import fitz
import numpy as np

from extractors.synth.blocks import Block, Picture, Table
from extractors.synth.layout import Layout
from extractors.synth.render_pdf import render_pdf
from extractors.synth.scan import ScanStyle, degrade, random_style

PICTURE_KINDS = ("stats", "active", "requests", "appeals")
PICTURE_FORMATS = ("png", "jpeg")
PICTURE_SOURCES = ("data", "file")
_TALL = 14400.0  # PDF's largest page side (200 in): far more than any template table needs
_MARGIN = 6.0  # white kept around the table's lines, in points


def table_image(table: Table, style: ScanStyle, fmt: str = "png", seed: int = 0) -> bytes:
    """`table` as a PNG or JPEG image at style.dpi, degraded by style's skew, blur and noise
    (none for a clean screenshot); a JPEG is stored at style.jpeg_quality."""
    if fmt not in PICTURE_FORMATS:
        raise ValueError(f"fmt must be one of {PICTURE_FORMATS}")
    image = _room_to_turn(_rasterise(table, style.dpi), style.skew)
    return _encode(degrade(image, style, np.random.default_rng(seed)), fmt, style.jpeg_quality)


def _rasterise(table: Table, dpi: int) -> np.ndarray:
    pdf = fitz.open(stream=render_pdf([table], Layout(), 2000, height=_TALL), filetype="pdf")
    if pdf.page_count != 1:
        raise ValueError("the table does not fit one picture")
    page = pdf[0]
    rects = [path["rect"] for path in page.get_drawings()]
    ink = fitz.Rect(rects[0])
    for rect in rects[1:]:
        ink |= rect
    pix = page.get_pixmap(dpi=dpi, colorspace=fitz.csGRAY,
                          clip=ink + (-_MARGIN, -_MARGIN, _MARGIN, _MARGIN))
    return np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width)


def _room_to_turn(image: np.ndarray, skew: float) -> np.ndarray:
    """White border so that a skewed table keeps its corners inside the image."""
    pad = math.ceil(max(image.shape) / 2 * math.sin(math.radians(abs(skew))))
    if not pad:
        return image
    return cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=255)


def _encode(image: np.ndarray, fmt: str, quality: int) -> bytes:
    ext, params = (".png", []) if fmt == "png" else (".jpg", [cv2.IMWRITE_JPEG_QUALITY, quality])
    ok, data = cv2.imencode(ext, image, params)
    if not ok:
        raise RuntimeError(f"{fmt} encoding failed")
    return data.tobytes()


def check_choices(layout: Layout, fmt: str) -> None:
    """Pictures go into DOCX and HTML only: a text dump cannot hold one, and a scanned PDF
    is eval/scans' business."""
    if fmt not in ("docx", "html"):
        raise ValueError("picture_tables are for docx and html reports")
    bad = set(layout.picture_tables) - set(PICTURE_KINDS)
    if bad:
        raise ValueError(f"unknown picture_tables {sorted(bad)}; choose from {PICTURE_KINDS}")
    if layout.picture_format not in PICTURE_FORMATS or layout.picture_src not in PICTURE_SOURCES:
        raise ValueError(f"picture_format must be one of {PICTURE_FORMATS}, "
                         f"picture_src one of {PICTURE_SOURCES}")


def picture_tables(blocks: list[Block], layout: Layout, rng: random.Random) -> list[Block]:
    """The tables of the chosen kinds replaced by pictures of themselves, named by their
    place among the document's tables (table3.png). One style for the whole document: one
    screenshot tool or one phone made all its pictures."""
    style = _style(layout.picture_format, rng)
    seed, ext = rng.randrange(2**32), "png" if layout.picture_format == "png" else "jpg"
    out: list[Block] = []
    tables = 0
    for block in blocks:
        if isinstance(block, Table):
            tables += 1
            if block.kind in layout.picture_tables:
                data = table_image(block, style, layout.picture_format, seed + tables)
                block = Picture(block, data, f"table{tables}.{ext}")
        out.append(block)
    return out


def _style(fmt: str, rng: random.Random) -> ScanStyle:
    """PNG: a clean screenshot; JPEG: a photo or scan (skew ≤1.5°, blur, noise, q 45–89)."""
    if fmt == "png":
        return ScanStyle(dpi=rng.choice((150, 175, 200)))
    return random_style(np.random.default_rng(rng.randrange(2**32)))
