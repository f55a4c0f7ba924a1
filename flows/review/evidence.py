"""Evidence for a reviewer: where in the source report a field was read.

A field read from a page (a PDF, a scan, a picture) is shown as a crop of that page with the
cell outlined; a field read from a native table (HTML, DOCX, DOC/WPS, text dump) as that
table, cell marked. Neither runs OCR: a review page must open at once.

Table ids are the extraction's: `DocumentBuilder` numbers tables in reading order, and when
OCR reads pictures in a DOCX or HTML file, `read_pictures` puts the tables it found in the
pictures' places and numbers them all again. A re-read without OCR leaves the pictures as
pictures, so its native table j was table k ≥ j at extraction, k > j only when a picture
comes before it; the table is the one of those whose cell still reads as the field did.
"""

from __future__ import annotations

import html
import io
import threading
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import pymupdf
from lxml import etree
from PIL import Image, ImageDraw

from extractors.document import Cell, Document, Table
from extractors.errors import ReadError
from extractors.grid import MAX_TABLE_CELLS
from extractors.readers import check_size, read_native
from extractors.readers.pdf import open_pdf
from extractors.readers.pictures import Loader, picture_pages
from extractors.readers.sniff import sniff_format
from extractors.result import FieldProvenance
from extractors.template.rows import split_row

HIGHLIGHT = (230, 0, 0)  # the cell's outline: no scan or black-on-white report prints pure red
CACHE_SIZE = 8  # reports: a reviewer works through the fields of one report, then the next

# What bad input raises on the way (missing, damaged, truncated, unsupported files).
_BAD_INPUT = (ReadError, OSError, ValueError, RuntimeError, etree.LxmlError, zipfile.BadZipFile,
              pymupdf.mupdf.FzErrorBase)
# PyMuPDF is not thread-safe and the review app answers requests on several threads.
_MUPDF_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class Evidence:
    kind: Literal["image", "table", "text", "none"]
    png: bytes | None = None  # kind "image": the crop, cell outlined
    url: str | None = None  # kind "image", instead of png: where the browser fetches the crop
    html: str | None = None  # kind "table": the table, cell marked class="hit"
    text: str | None = None  # kind "text": the field as printed (prov.raw)
    note: str | None = None  # kinds "text" and "none": why there is nothing more to show


def evidence(raw_path: Path, prov: FieldProvenance, image_url: str | None = None) -> Evidence:
    """The best evidence there is: a page crop, else the table, else the printed text (all
    that is left when the source file is not at hand, which `note` then says). With
    `image_url`, a field with a page and bbox gets that URL instead of a crop rendered now
    (a web page lets the browser fetch it, from cell_image)."""
    at_hand = Path(raw_path).is_file()
    if at_hand and image_url is not None and prov.page is not None and prov.bbox is not None:
        return Evidence("image", url=image_url)
    png = cell_image(raw_path, prov) if at_hand else None
    if png is not None:
        return Evidence("image", png=png)
    table = table_html(raw_path, prov) if at_hand else None
    if table is not None:
        return Evidence("table", html=table)
    note = None if at_hand else "the source file is not at hand"
    return Evidence("text", text=prov.raw, note=note) if prov.raw else Evidence("none", note=note)


def cell_image(raw_path: Path, prov: FieldProvenance, *, margin: float = 30.0,
               zoom: float = 2.0) -> bytes | None:
    """PNG of the page band around the field's bbox (full page width, `margin` points above
    and below), rendered at `zoom` × 72 dpi with the bbox outlined; None when the field has no
    page and bbox or the page cannot be had."""
    if prov.page is None or prov.bbox is None:
        return None
    path = Path(raw_path)
    try:
        with _MUPDF_LOCK:
            pdf = _pages(path, prov.image)
            if pdf is None:
                return None
            try:
                if not 1 <= prov.page <= pdf.page_count:
                    return None
                page = pdf[prov.page - 1]
                cell = pymupdf.Rect(prov.bbox)
                if prov.source == "native":
                    # The text layer's boxes are on the page before its /Rotate, OCR's on the
                    # page as rendered (and shown).
                    cell = cell * page.rotation_matrix
                return _crop(page, cell, margin, zoom)
            finally:
                pdf.close()
    except _BAD_INPUT:
        return None


def table_html(raw_path: Path, prov: FieldProvenance) -> str | None:
    """The native table the field was read from as an HTML <table>, every text escaped, the
    field's cell marked class="hit"; None for fields not read from a native table, when the
    file no longer holds that table, or when its grid is past the readers' cap."""
    if prov.method != "table" or prov.table is None or prov.row is None or prov.col is None \
            or prov.source != "native" or prov.image is not None:
        return None  # OCR'd cells are shown by cell_image
    try:
        native = _native(_stamp(Path(raw_path)))
    except _BAD_INPUT:
        return None
    found = _find_table(native.doc, prov)
    if found is None:
        return None
    table, hit = found
    return _render(table, hit, prov.table)


# ---- reading without OCR, cached ---------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Native:
    doc: Document  # as the reader makes it, pictures left unread
    load: Loader


def _stamp(path: Path) -> tuple[str, int, int]:
    """The cache key: a file changed since (re-harvested) is read again."""
    stat = path.stat()
    return str(path.resolve()), stat.st_mtime_ns, stat.st_size


@lru_cache(maxsize=CACHE_SIZE)
def _native(stamp: tuple[str, int, int]) -> _Native:
    return _Native(*read_native(stamp[0]))


@lru_cache(maxsize=CACHE_SIZE)
def _picture_pdf(stamp: tuple[str, int, int], image: str | None) -> bytes:
    """The pages `picture_pages` makes of an image file (image None) or of a picture inside a
    DOCX/HTML file: what the reader OCR'd, so the provenance's page and bbox apply. Kept as
    bytes: decoding every frame of a TIFF again for each field would be slow."""
    path = Path(stamp[0])
    data = path.read_bytes() if image is None else _native(stamp).load(image)
    if not data:
        raise ReadError("corrupt", f"{path.name}: no picture {image!r} in it")
    pdf = picture_pages(data, image or path.name)
    try:
        return pdf.tobytes()
    finally:
        pdf.close()


# ---- the page crop -----------------------------------------------------------------------

def _pages(path: Path, image: str | None) -> pymupdf.Document | None:
    stamp = _stamp(path)
    if image is not None:
        return pymupdf.open(stream=_picture_pdf(stamp, image), filetype="pdf")
    fmt = sniff_format(path)
    if fmt == "pdf":
        check_size(path)
        return open_pdf(path)[0]
    if fmt == "image":
        return pymupdf.open(stream=_picture_pdf(stamp, None), filetype="pdf")
    return None


def _crop(page: pymupdf.Page, cell: pymupdf.Rect, margin: float, zoom: float) -> bytes | None:
    band = pymupdf.Rect(page.rect.x0, cell.y0 - margin, page.rect.x1, cell.y1 + margin) & page.rect
    if band.is_empty:
        return None  # a bbox off the page: not this page
    pix = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), clip=band, colorspace=pymupdf.csRGB,
                          alpha=False)
    image = Image.frombytes("RGB", (pix.width, pix.height), pix.samples)
    # Drawn on the rendering, not on the page: the page keeps the coordinates the reader used.
    box = [cell.x0 * zoom - pix.x, cell.y0 * zoom - pix.y, cell.x1 * zoom - pix.x, cell.y1 * zoom - pix.y]
    ImageDraw.Draw(image).rectangle(box, outline=HIGHLIGHT, width=max(2, round(zoom)))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


# ---- the table ---------------------------------------------------------------------------

def _find_table(doc: Document, prov: FieldProvenance) -> tuple[Table, Cell] | None:
    """The native table that was prov.table at extraction (see the module's docstring), and
    the cell at the field's position; nearest to the id first."""
    try:
        k = int(prov.table.removeprefix("t"))
    except ValueError:
        return None
    candidates: list[Table] = []
    after_picture = False
    j = 0  # the native table's place, as DocumentBuilder numbered it
    for block in doc.blocks:
        if block.image is not None:
            after_picture = True
        elif block.table is not None:
            if j == k or (j < k and after_picture):
                candidates.append(block.table)
            j += 1
    for table in reversed(candidates):
        hit = _read_as(table, prov)
        if hit is not None:
            return table, hit
    return None


def _read_as(table: Table, prov: FieldProvenance) -> Cell | None:
    """The cell covering (prov.row, prov.col) if it reads as at extraction: same text, in a
    row with the same label (a row with no label cells: the extractor named it itself)."""
    for row in table.rows:
        for cell in row:
            if cell.row <= prov.row < cell.row + cell.rowspan \
                    and cell.col <= prov.col < cell.col + cell.colspan:
                label = split_row(table, row).label
                same_label = not prov.label or not label or label == prov.label
                return cell if cell.text == (prov.raw or "") and same_label else None
    return None


def _render(table: Table, hit: Cell, table_id: str) -> str | None:
    """The grid as read: each cell once with its spans; a grid position no cell covers (a row
    starting late, DOCX gridBefore) is an empty cell, so the columns stay in line. None for a
    grid past MAX_TABLE_CELLS, which would be a page of that many cells (the readers keep such
    tables out; this holds whatever made the table)."""
    starting: dict[int, list[Cell]] = {}
    for row in table.rows:
        for cell in row:
            starting.setdefault(cell.row, []).append(cell)
    n_rows = max(c.row + c.rowspan for cells in starting.values() for c in cells)
    n_cols = max(c.col + c.colspan for cells in starting.values() for c in cells)
    if n_rows * n_cols > MAX_TABLE_CELLS:
        return None
    covered: set[tuple[int, int]] = set()  # positions taken by spans from rows above
    lines = [f'<table class="evidence" data-table="{html.escape(table_id)}">']  # the extraction's id
    for r in range(n_rows):  # rows no cell starts in stay, as empty <tr>, for the rowspans
        tds: list[str] = []
        col = 0
        for cell in sorted(starting.get(r, []), key=lambda c: c.col):
            tds += ["<td></td>" for c in range(col, cell.col) if (r, c) not in covered]
            covered.update((rr, cc) for rr in range(r + 1, r + cell.rowspan)
                           for cc in range(cell.col, cell.col + cell.colspan))
            tds.append(_td(cell, cell is hit))
            col = cell.col + cell.colspan
        lines.append("<tr>" + "".join(tds) + "</tr>")
    lines.append("</table>")
    return "\n".join(lines)


def _td(cell: Cell, hit: bool) -> str:
    attrs = ' class="hit"' if hit else ""
    if cell.rowspan > 1:
        attrs += f' rowspan="{cell.rowspan}"'
    if cell.colspan > 1:
        attrs += f' colspan="{cell.colspan}"'
    text = "<br>".join(html.escape(line) for line in cell.text.split("\n"))
    return f"<td{attrs}>{text}</td>"
