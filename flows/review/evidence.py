"""Evidence for a reviewer: where in the source report a field was read.

A field read from a page (a PDF, a scan, a picture) is shown as a crop of that page with the
cell outlined, under a strip of the table's header rows with the column's heading outlined
(which column is 总计 is told by the header, not by the cell); a field read from a native
table (HTML, DOCX, DOC/WPS, text dump) as that table, cell marked. Neither runs OCR: a review
page must open at once, so a page without a text layer gets no header strip.

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
from extractors.readers.pdf import open_pdf, read_pages
from extractors.readers.pictures import Loader, picture_pages
from extractors.readers.sniff import sniff_format
from extractors.result import FieldProvenance
from extractors.template.rows import split_row
from extractors.template.values import is_value_text

from .dump_grid import Placed, dump_grid

HIGHLIGHT = (230, 0, 0)  # the cell's outline: no scan or black-on-white report prints pure red
HEADING = (0, 90, 230)  # the outline of the column's heading in the header strip
SEPARATOR = (150, 150, 150)  # the line between the header strip and the crop
HEADER_PAD = 3.0  # points above and below the header rows in the strip
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
    and below), rendered at `zoom` × 72 dpi with the bbox outlined, under the header rows of
    the cell's table (see header_rows); None when the field has no page and bbox or the page
    cannot be had."""
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
                header = None
                if prov.source == "native":
                    # The text layer's boxes are on the page before its /Rotate, OCR's on the
                    # page as rendered (and shown).
                    found = _header(path, prov.page, pymupdf.Rect(prov.bbox))
                    if found is not None:
                        number, rows, heading = found
                        at = pdf[number - 1]
                        header = (at, rows * at.rotation_matrix, [h * at.rotation_matrix for h in heading])
                    cell = cell * page.rotation_matrix
                return _crop(page, cell, margin, zoom, header)
            finally:
                pdf.close()
    except _BAD_INPUT:
        return None


def header_rows(raw_path: Path, prov: FieldProvenance) -> tuple[int, pymupdf.Rect, list[pymupdf.Rect]] | None:
    """Where the header of the field's table is printed: (page, the header rows' box, the
    boxes of the headings over the field's column), in the text layer's coordinates. The
    header is the table's rows before its first row of figures; a table that starts on its
    page with figures goes on from the page before, and has its header there. None for a
    field not on a text-layer page, or a table with no such rows."""
    if prov.page is None or prov.bbox is None or prov.source != "native" or prov.image is not None:
        return None
    try:
        with _MUPDF_LOCK:
            return _header(Path(raw_path), prov.page, pymupdf.Rect(prov.bbox))
    except _BAD_INPUT:
        return None


def _header(path: Path, number: int, cell: pymupdf.Rect) -> tuple[int, pymupdf.Rect, list[pymupdf.Rect]] | None:
    """header_rows, under _MUPDF_LOCK."""
    if sniff_format(path) != "pdf":
        return None
    stamp = _stamp(path)
    tables = _page_tables(stamp, number)
    mine = next((t for t in tables if any(_holds(c.prov.bbox, cell) for row in t.rows for c in row)), None)
    if mine is None:
        return None
    head = _head_rows(mine)
    if not head and number > 1 and mine is tables[0]:
        before = _page_tables(stamp, number - 1)
        mine, number = (before[-1], number - 1) if before else (None, number)
        head = _head_rows(mine) if mine is not None else []
    boxes = [pymupdf.Rect(c.prov.bbox) for row in head for c in row if c.prov.bbox]
    if not boxes:
        return None
    rows, x = _union(boxes), (cell.x0 + cell.x1) / 2
    # the headings over the column; a title across the whole table names no column
    heading = [b for b in boxes if b.x0 <= x <= b.x1 and b.width < 0.9 * rows.width]
    return number, rows, heading


def _holds(box, cell: pymupdf.Rect) -> bool:
    if box is None:
        return False
    x, y = (cell.x0 + cell.x1) / 2, (cell.y0 + cell.y1) / 2
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def _head_rows(table: Table) -> list[list[Cell]]:
    head = []
    for row in table.rows:
        if any(is_value_text(c.text) and any(ch.isdigit() for ch in c.text) for c in split_row(table, row).values):
            break
        head.append(row)
    return head if len(head) < len(table.rows) else []  # no figures at all: not a table of figures


def _union(boxes: list[pymupdf.Rect]) -> pymupdf.Rect:
    out = pymupdf.Rect(boxes[0])
    for b in boxes[1:]:
        out |= b
    return out


@lru_cache(maxsize=CACHE_SIZE * 4)
def _page_tables(stamp: tuple[str, int, int], number: int) -> list[Table]:
    """The native tables of one page, read as the PDF reader reads them (its ids are this
    page's own); none for a page without a text layer (that would take OCR). Under _MUPDF_LOCK."""
    pdf = open_pdf(Path(stamp[0]))[0]
    try:
        if not 1 <= number <= pdf.page_count or not pdf[number - 1].get_text("words"):
            return []
        one = pymupdf.open()
        try:
            one.insert_pdf(pdf, from_page=number - 1, to_page=number - 1)
            return read_pages(one, stamp[0], "pdf").tables()
        finally:
            one.close()
    finally:
        pdf.close()


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
    if sniff_format(Path(raw_path)) == "txt":
        grid = dump_grid(table)
        if grid is not None:
            return _render_dump(*grid, hit, prov.table)
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


def _crop(page: pymupdf.Page, cell: pymupdf.Rect, margin: float, zoom: float,
          header: tuple[pymupdf.Page, pymupdf.Rect, list[pymupdf.Rect]] | None = None) -> bytes | None:
    """The band around `cell`, outlined; with `header` (its page, the header rows' box, the
    column's headings, in display coordinates), the header rows above it: in the band itself
    when they touch it, else as a strip of their own over a grey line."""
    band = pymupdf.Rect(page.rect.x0, cell.y0 - margin, page.rect.x1, cell.y1 + margin) & page.rect
    if band.is_empty:
        return None  # a bbox off the page: not this page
    strip = None
    if header is not None:
        at, rows, heading = header
        if at.number == page.number and band.y0 <= rows.y1 + HEADER_PAD + 1:
            band.y0 = max(page.rect.y0, min(band.y0, rows.y0 - HEADER_PAD))  # the header runs into the band
            marks = heading
        else:
            clip = pymupdf.Rect(at.rect.x0, rows.y0 - HEADER_PAD, at.rect.x1, rows.y1 + HEADER_PAD) & at.rect
            strip = None if clip.is_empty else _draw(at, clip, zoom, {HEADING: heading})
            marks = []
    image = _draw(page, band, zoom, {HEADING: marks if header is not None else [], HIGHLIGHT: [cell]})
    if strip is not None:
        line = 3 * max(2, round(zoom))
        stacked = Image.new("RGB", (max(strip.width, image.width), strip.height + line + image.height), SEPARATOR)
        stacked.paste(strip, (0, 0))
        stacked.paste(image, (0, strip.height + line))
        image = stacked
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _draw(page: pymupdf.Page, clip: pymupdf.Rect, zoom: float,
            outlines: dict[tuple[int, int, int], list[pymupdf.Rect]]) -> Image.Image:
    pix = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), clip=clip, colorspace=pymupdf.csRGB, alpha=False)
    image = Image.frombytes("RGB", (pix.width, pix.height), pix.samples)
    draw = ImageDraw.Draw(image)
    for color, boxes in outlines.items():
        for r in boxes:
            # Drawn on the rendering, not on the page: the page keeps the coordinates the reader used.
            draw.rectangle([r.x0 * zoom - pix.x, r.y0 * zoom - pix.y, r.x1 * zoom - pix.x, r.y1 * zoom - pix.y],
                           outline=color, width=max(2, round(zoom)))
    return image


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


def _render_dump(width: int, rows: list[list[Placed]], hit: Cell, table_id: str) -> str | None:
    """A text dump's table in the columns dump_grid rebuilt; a cell merged down from the row
    above (written empty in the dump) drawn without its top border, so the merge shows."""
    if width * len(rows) > MAX_TABLE_CELLS:
        return None
    lines = [f'<table class="evidence dump" data-table="{html.escape(table_id)}">']
    for row in rows:
        tds, col = [], 0
        for p in row:
            tds += ["<td></td>"] * (p.col - col)
            attrs = ' class="hit"' if p.cell is hit else ' class="merged"' if p.merged else ""
            attrs += f' colspan="{p.span}"' if p.span > 1 else ""
            text = "<br>".join(html.escape(line) for line in p.text.split("\n"))
            tds.append(f"<td{attrs}>{text}</td>")
            col = p.col + p.span
        tds += ["<td></td>"] * (width - col)
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
