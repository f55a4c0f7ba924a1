"""PDF text layer → Document: paragraphs in reading order and ruled tables with their spans.

Tables are rebuilt from the page's ruling lines (`get_cdrawings`) and word boxes
(`get_text("words")`) instead of `find_tables()`: on this machine find_tables costs ~35 ms a
page against ~0.5 ms for `get_text()`, and the template's tables are fully ruled, so a grid of
line segments plus word centres gives the same cells for a fraction of the time.

Pages with (almost) no text layer, or a garbage one, are read by OCR (extractors/ocr) into
the same lines and grids, so paragraphs, running heads and tables over page breaks work alike.
Where OCR is off (NIANBAO_OCR=off), has no engine installed, or reads nothing on the page,
`Document.ocr_pages` names the page and it keeps its place in the reading order as an image
block.

A file may claim anything, so what it claims is bounded (issue 17): the page tree is walked
to count the pages the file holds before MuPDF is trusted with its /Count (a tree claiming
2³¹ pages made MuPDF allocate and sort a page map of that size), at most MAX_PAGES pages are
read, and a page over a limit loses its tables (MAX_RULES, MAX_GRID_CELLS) or its OCR (the
pixel limit) but not the rest of the report. Each part left out is named in
`Document.warnings`.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import pymupdf
from pydantic import TypeAdapter

from ..document import Cell, Document, DocumentBuilder, Provenance
from ..errors import ReadError
from ..grid import UnionFind, merge_cells

TOL = 2.0     # points: ruling lines closer than this are one line; ends this close touch
THIN = 3.0    # points: a filled rectangle thinner than this is drawn as a rule
HEAD_BAND = 0.08  # top/bottom share of the page height where running heads and page numbers sit
MIN_TEXT_CHARS = 20  # fewer characters than this on a page with an image: a scan, needs OCR
TABLE_LOOK_DPI = 100  # the look for a ruled table on a picture page of a text-layer PDF
PAGE_SIZED = 0.8  # share of the page a picture covers to be taken for a scanned page
# Pages read from one file: a 年报 has 5–60, a volume of a county's reports a few hundred.
MAX_PAGES = 2000
# Page-tree objects walked to count the pages: balanced trees hold about one node per ten
# pages, so this is only reached by a tree built to be walked.
MAX_TREE_NODES = 4 * MAX_PAGES
# Ruling lines on one page (after joining the pieces of each line): a page of the 三 table has
# under 60; grouping them into tables costs up to (lines/2)² tests.
MAX_RULES = 1000
# Cells of one table's elementary grid (rows × columns between every rule position): the 三
# table has 250. Rebuilding costs about 2 KB and 20 µs a cell (a 1000×1000 grid: 2.3 GB, 21 s).
MAX_GRID_CELLS = 50_000

_READABLE = re.compile(r"[\u4e00-\u9fff\u3000-\u303f\uff01-\uff5e0-9A-Za-z，。、；：（）《》“”]")
_PAGE_NUMBER = re.compile(r"^[-—–－·\s]*(第\s*)?\d+(\s*页)?(\s*[/／]?\s*(共\s*)?\d+(\s*页)?)?[-—–－·\s]*$")
# A numbered heading (一、 （一） 1． 第一) always opens a paragraph, whatever the layout says.
_HEADING_START = re.compile(r"^\s*([一二三四五六七八九十]{1,2}[、.．]|[（(][一二三四五六七八九十\d]{1,2}[)）]|第[一二三四五六七八九十]+[部章节条])")
# A table row's own label is numbered (1. 2、 （三） 一、); a label's second half is not.
_NEW_ROW = re.compile(r"^\s*([（(][一二三四五六七八九十\d]{1,2}[)）]|[一二三四五六七八九十\d]{1,2}\s*[、.．])")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_DIGIT = re.compile(r"[0-9０-９]")
_ASCII_WORD_END = re.compile(r"[A-Za-z0-9,.;:%)]$")
_ASCII_WORD_START = re.compile(r"^[A-Za-z0-9(]")

_MUPDF_ERRORS = (RuntimeError, pymupdf.mupdf.FzErrorBase)
# MuPDF reports damaged files on stderr as well as by exception; the exception is what we use.
pymupdf.TOOLS.mupdf_display_errors(False)
_ROWS = TypeAdapter(list[list[Cell]])


def read_pdf(path: Path) -> Document:
    path = Path(path)
    pdf, notes = open_pdf(path)
    try:
        doc = read_pages(pdf, str(path), "pdf")
    finally:
        pdf.close()
    doc.warnings[:0] = notes
    return doc


def read_pages(pdf: pymupdf.Document, path: str, fmt: str) -> Document:
    """An open PDF, or pictures made into one (readers/pictures.py), into a Document."""
    pages: list[_Page] = []
    no_text: list[int] = []
    notes: list[str] = []
    ocr = _OcrOnDemand()
    text_layer = _has_text_layer(pdf)
    index = 0
    # page_count is asked again each time: MuPDF settles it when it loads the page tree, at
    # the first page, and may find fewer pages than the tree's /Count said.
    while index < min(pdf.page_count, MAX_PAGES):
        try:
            page = pdf.load_page(index)
            pages.append(_read_page(page, index + 1, no_text, ocr, notes, text_layer))
        except _MUPDF_ERRORS:
            pass  # a damaged page: keep what the others hold
        index += 1
    if pdf.page_count > MAX_PAGES:
        notes.append(f"more than {MAX_PAGES} pages: pages after {MAX_PAGES} not read")
    if not pages:
        raise ReadError("corrupt", f"{Path(path).name}: no page could be read")

    _drop_running_heads(pages)
    margins = _Margins.of(pages)
    items = _join_across_pages([_page_items(p, margins) for p in pages])
    builder = DocumentBuilder(path, fmt)
    pictures = sorted(no_text)
    for item in items:
        while pictures and pictures[0] < item.page:
            # A page that is only a picture (a scan, a table pasted as an image) keeps its
            # place in the reading order, so the extractor knows something is there.
            number = pictures.pop(0)
            builder.image(f"page {number}", Provenance(page=number))
        if isinstance(item, _Para):
            builder.paragraph(item.text, Provenance(page=item.page, bbox=item.evidence or item.bbox,
                                                    score=item.score,
                                                    source="native" if item.score is None else "ocr"))
        else:
            builder.table(item.rows(), Provenance(page=item.page, bbox=item.evidence or item.bbox,
                                                  source="native" if item.evidence is None else "ocr"))
    for number in pictures:
        builder.image(f"page {number}", Provenance(page=number))
    builder.doc.pages = min(pdf.page_count, MAX_PAGES)
    builder.doc.ocr_pages = sorted(no_text)
    builder.doc.warnings = notes
    return builder.doc


def _needs_ocr(page: pymupdf.Page, words: list) -> bool:
    # Too little text, or mostly unreadable, on a page carrying a picture: the picture is
    # the content. get_image_info also sees inline images (BI … EI in the content), which
    # some scanners write and get_images, reading the page's resources only, does not list
    return not _has_text(words) and bool(page.get_images() or page.get_image_info())


def _has_text(words: list) -> bool:
    """Enough readable text (fonts without a Unicode map give private-use codes or mojibake)."""
    text = "".join(w[4] for w in words)
    usable = len(_READABLE.findall(text))
    return usable >= MIN_TEXT_CHARS and usable >= 0.5 * len(text)


def _has_text_layer(pdf: pymupdf.Document) -> bool:
    """Whether some page carries text of its own; a report's first page mostly does, so
    the search seldom goes past it (a scan's pages cost ~0.1 ms each)."""
    for index in range(min(pdf.page_count, MAX_PAGES)):
        try:
            if _has_text(pdf.load_page(index).get_text("words")):
                return True
        except _MUPDF_ERRORS:
            continue
    return False


def _page_sized_picture(page: pymupdf.Page) -> bool:
    area = abs(page.rect)
    return any(abs(pymupdf.Rect(info["bbox"]) & page.rect) >= PAGE_SIZED * area
               for info in page.get_image_info())


def _may_hold_table(page: pymupdf.Page) -> bool:
    """The cheap look for a ruled table in the page's picture: rules found at a low
    resolution (~30 ms a page), no OCR."""
    from ..ocr import holds_table

    try:
        return holds_table(page, dpi=TABLE_LOOK_DPI)
    except ReadError:
        return True  # too large to render even so: OCR's own check says so in the notes


class _OcrOnDemand:
    """The OCR engine, started at the first page that needs it: text-layer PDFs never pay
    for loading OCR models."""

    def __init__(self):
        self._engine = None
        self._asked = False

    def engine(self):
        if not self._asked:
            from ..ocr import reader_engine

            self._engine, self._asked = reader_engine(), True
        return self._engine


def open_pdf(path: Path) -> tuple[pymupdf.Document, list[str]]:
    """The PDF opened with its claims checked (password, truncation, a page tree that lies),
    and notes on what was corrected: every reader of a PDF's pages (the review's evidence
    too) opens it here, since MuPDF alone would size its page maps by a /Count of 2³¹."""
    try:
        pdf = pymupdf.open(path, filetype="pdf")
    except pymupdf.EmptyFileError:
        raise ReadError("empty", f"{path.name}: the file is empty") from None
    except _MUPDF_ERRORS as err:
        raise ReadError("corrupt", f"{path.name}: not a readable PDF ({err})") from None
    if pdf.needs_pass and not pdf.authenticate(""):
        pdf.close()
        raise ReadError("encrypted", f"{path.name}: the PDF is password-protected; "
                        "it opens only with its password")
    if pdf.is_repaired and not _has_eof_marker(path):
        # MuPDF rebuilds a cut-off file from what is left and would hand us part of a
        # report as if it were whole: a download that stopped half-way is an error.
        pdf.close()
        raise ReadError("corrupt", f"{path.name}: the PDF is truncated (no %%EOF; "
                        "the file ends early, e.g. an interrupted download)")
    try:
        notes = _count_pages(pdf)
    except ReadError as err:
        pdf.close()
        raise ReadError(err.code, f"{path.name}: {err}") from None
    if pdf.page_count == 0:
        pdf.close()
        raise ReadError("corrupt", f"{path.name}: the PDF has no pages" + "".join(f"; {n}" for n in notes))
    return pdf, notes


_REF = re.compile(r"(\d+)\s+(\d+)\s+R")


def _count_pages(pdf: pymupdf.Document) -> list[str]:
    """Checks the page tree's /Count against the pages the file holds, before MuPDF sizes its
    page maps by it: MuPDF believes /Count (2³¹ claimed over one page: maps of 24 GB, sorted
    whole), and a /Count too small hides the pages past it. Where they differ, the tree is
    replaced by one that lists the pages found, in order; each page keeps its /Parent, so
    what it inherits from the old tree stays."""
    kind, count = pdf.xref_get_key(-1, "Root/Pages/Count")  # -1: the trailer
    claimed = int(count) if kind == "int" else 0  # as MuPDF reads a missing /Count
    pages, complete = _page_objects(pdf, _array(pdf, pdf.xref_get_key(-1, "Root/Pages/Kids")))
    if complete and len(pages) == claimed:
        return []
    catalog = pdf.pdf_catalog()
    if catalog <= 0:  # a catalog written inside the trailer: no object to correct the tree in
        raise ReadError("corrupt", f"the page tree's /Count is {claimed}, the pages found in it "
                        f"{len(pages)}, and the catalog is no object of its own to correct it in")
    pdf.xref_set_key(catalog, "Pages", f"<</Type/Pages/Count {len(pages)}/Kids[{' '.join(pages)}]>>")
    if complete:
        return [f"the page tree's /Count is {claimed}, the pages found in it {len(pages)}"]
    if len(pages) <= MAX_PAGES:
        return [f"the page tree has more than {MAX_TREE_NODES} objects: walked no further, "
                f"{len(pages)} pages found"]
    return []  # read_pages tells of the pages past MAX_PAGES


def _array(pdf: pymupdf.Document, value: tuple[str, str]) -> str:
    """An array as xref_get_key gives it, looked up where it is an object of its own."""
    kind, text = value
    if kind == "xref":
        return pdf.xref_object(int(text.split()[0]), compressed=True)
    return text if kind == "array" else ""


def _page_objects(pdf: pymupdf.Document, kids: str) -> tuple[list[str], bool]:
    """References to the page objects under the tree's /Kids, in page order, each object
    taken once (a cycle or a shared subtree cannot multiply them); and whether the walk
    ended before MAX_PAGES pages or MAX_TREE_NODES objects stopped it."""
    size = pdf.xref_length()
    pages: list[str] = []
    seen: set[int] = set()
    todo: list[tuple[int, str]] = []  # a stack: the next node last

    def push(array: str) -> bool:
        room = MAX_TREE_NODES - len(todo)
        refs = [(int(m[1]), f"{m[1]} {m[2]} R") for m in islice(_REF.finditer(array), room + 1)]
        todo.extend(reversed(refs[:room]))
        return len(refs) <= room

    complete = push(kids)
    while todo:
        if len(pages) > MAX_PAGES or len(seen) >= MAX_TREE_NODES:
            return pages, False
        node, ref = todo.pop()
        if not 0 < node < size or node in seen:
            continue
        seen.add(node)
        try:
            kind = pdf.xref_get_key(node, "Type")[1]
            if kind == "/Page":
                pages.append(ref)
                continue
            kids = pdf.xref_get_key(node, "Kids")
            if kids[0] in ("array", "xref"):
                complete &= push(_array(pdf, kids))
            elif kind == "null" and pdf.xref_get_keys(node):
                pages.append(ref)  # MuPDF reads a dictionary with neither /Type nor /Kids as a page
        except _MUPDF_ERRORS:
            continue  # a damaged object: MuPDF cannot load what is under it either
    return pages, complete


def _has_eof_marker(path: Path) -> bool:
    with open(path, "rb") as fh:
        fh.seek(max(0, path.stat().st_size - 2048))
        return b"%%EOF" in fh.read()


# ---- one page: words, ruling lines, grids ----------------------------------------------

@dataclass(slots=True)
class _Line:
    x0: float
    y0: float
    x1: float
    y1: float
    text: str
    score: float | None = None  # OCR's recognition score; None for the text layer
    # OCR lines are laid out on the upright page; this is their box on the stored page
    evidence: tuple[float, float, float, float] | None = None

    @property
    def height(self) -> float:
        return self.y1 - self.y0


@dataclass(slots=True)
class _Cell:
    r: int
    c: int
    rs: int
    cs: int
    page: int
    bbox: tuple[float, float, float, float]
    text: str = ""
    score: float | None = None  # OCR's recognition score; None for the text layer or an empty cell
    source: str = "native"
    candidates: list | None = None  # OCR's alternative readings (ocr.layout.OcrCell)


@dataclass(slots=True)
class _Grid:
    """A ruled table; after joining, the parts of one table over several pages."""
    page: int
    bbox: tuple[float, float, float, float]
    xs: list[float]  # column boundaries, len = columns + 1
    n_rows: int
    cells: list[_Cell]
    bottom_share: float  # where its last part ends, as a share of that page's height
    evidence: tuple[float, float, float, float] | None = None  # on the stored page, if OCR'd

    def rows(self) -> list[list[Cell]]:
        rows: list[list[dict]] = [[] for _ in range(self.n_rows)]
        for c in sorted(self.cells, key=lambda c: (c.r, c.c)):
            rows[c.r].append({"text": c.text, "row": c.r, "col": c.c, "rowspan": c.rs,
                              "colspan": c.cs, "prov": {"page": c.page, "bbox": c.bbox,
                                                        "source": c.source, "score": c.score,
                                                        "candidates": c.candidates}})
        # One validation call for the whole table: per-cell construction costs more than
        # reading the page.
        rows = _ROWS.validate_python(rows)
        return rows


@dataclass(slots=True)
class _Page:
    number: int
    height: float
    lines: list[_Line]        # text outside tables, in visual lines
    heads: list[_Line]        # lines in the top/bottom band: running heads or page numbers
    grids: list[_Grid] = field(default_factory=list)


def _read_page(page: pymupdf.Page, number: int, no_text: list[int], ocr: _OcrOnDemand,
               notes: list[str], text_layer: bool) -> _Page:
    """The page's lines and tables; `no_text` and `notes` get what it could not give.
    `text_layer`: other pages of the file carry text (it is no scan)."""
    words = page.get_text("words")
    height = page.rect.height
    if _needs_ocr(page, words):
        # In a report with a text layer a picture that leaves room on its page is mostly a
        # chart, a photo or a seal: OCR (about a second a page) is spent on it only where a
        # ruled table may be pasted. A picture as large as the page is a scanned page.
        look = text_layer and not _page_sized_picture(page)
        engine = ocr.engine() if not look or _may_hold_table(page) else None
        try:
            read = _ocr_page(page, number, engine, notes) if engine is not None else None
        except ReadError as err:
            if err.code != "too_large":
                raise
            # A page too large to render (a 14 400 pt page is 1.6 G pixels at 200 dpi) is
            # left out, not the report.
            notes.append(f"{err}: the page is left unread")
            read = None
        if read is not None and (read.lines or read.heads or read.grids):
            return read
        no_text.append(number)  # nothing read: the page stays a picture
    grids, cell_words, body_words = _tables(page, number, words, notes)
    for grid, per_cell in zip(grids, cell_words):
        for cell, ws in zip(grid.cells, per_cell):
            if len(ws) == 1:  # most cells: one number
                cell.text = ws[0][4]
            elif ws:
                cell.text = _join_lines(_visual_lines(_raw_lines(ws)))
    # An all-empty grid is a frame or decoration, not a table.
    grids = [g for g in grids if any(c.text for c in g.cells)]
    return _split_heads(number, height, _visual_lines(_raw_lines(body_words)), grids)


def _ocr_page(page: pymupdf.Page, number: int, engine, notes: list[str]) -> _Page:
    """The page read by OCR, as lines and grids like those of a text layer."""
    from ..ocr import read_page

    read = read_page(page, engine)
    notes += [f"page {number}: {note}" for note in read.notes]
    height = read.size[1]
    lines = [_Line(*ln.frame, ln.text, ln.score, ln.bbox) for ln in read.lines if ln.text]
    grids = [_Grid(page=number, bbox=t.frame, xs=t.xs, n_rows=t.n_rows,
                   cells=[_Cell(c.row, c.col, c.rowspan, c.colspan, number, c.bbox, c.text, c.score, "ocr",
                         c.candidates or None)
                          for c in t.cells],
                   bottom_share=t.frame[3] / height, evidence=t.bbox)
             for t in read.tables if any(c.text for c in t.cells)]
    return _split_heads(number, height, _visual_lines(lines), grids)


def _split_heads(number: int, height: float, lines: list[_Line], grids: list[_Grid]) -> _Page:
    body, heads = [], []
    for line in lines:
        in_band = line.y1 <= HEAD_BAND * height or line.y0 >= (1 - HEAD_BAND) * height
        if not in_band:
            body.append(line)
        elif not _PAGE_NUMBER.match(line.text):
            heads.append(line)
    return _Page(number, height, body, heads, grids)


def _raw_lines(words: list) -> list[_Line]:
    """MuPDF's own lines (block, line numbers) from their words, words kept in order."""
    by_line: dict[tuple[int, int], _Line] = {}
    for x0, y0, x1, y1, text, block, line_no, _ in words:
        line = by_line.get((block, line_no))
        if line is None:
            by_line[(block, line_no)] = _Line(x0, y0, x1, y1, text)
        else:
            line.x0, line.y0 = min(line.x0, x0), min(line.y0, y0)
            line.x1, line.y1 = max(line.x1, x1), max(line.y1, y1)
            line.text += " " + text
    return list(by_line.values())


def _visual_lines(lines: list[_Line]) -> list[_Line]:
    """Top to bottom; pieces MuPDF split off one printed line are put back side by side."""
    lines.sort(key=lambda ln: (ln.y0, ln.x0))
    out: list[_Line] = []
    for line in lines:
        last = out[-1] if out else None
        if last is not None and _same_row(last, line):
            left, right = (last, line) if line.x0 >= last.x0 else (line, last)
            last.text = left.text + " " + right.text
            last.x0, last.x1 = min(last.x0, line.x0), max(last.x1, line.x1)
            last.y0, last.y1 = min(last.y0, line.y0), max(last.y1, line.y1)
            last.score = _min_score(last.score, line.score)
            last.evidence = _union(last.evidence, line.evidence)
        else:
            out.append(_Line(line.x0, line.y0, line.x1, line.y1, line.text, line.score, line.evidence))
    return out


def _min_score(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def _union(a: tuple | None, b: tuple | None) -> tuple | None:
    if a is None or b is None:
        return a or b
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def _same_row(a: _Line, b: _Line) -> bool:
    if b.y0 >= a.y1:  # the common case, checked first: b is wholly below
        return False
    overlap = min(a.y1, b.y1) - max(a.y0, b.y0)
    return overlap > 0.5 * min(a.y1 - a.y0, b.y1 - b.y0) and (b.x0 >= a.x1 - TOL or b.x1 <= a.x0 + TOL)


def _join(a: str, b: str) -> str:
    """Join wrapped text: Chinese wraps without a space, Latin words and numbers need one."""
    if not a or not b:
        return a or b
    if _ASCII_WORD_END.search(a) and _ASCII_WORD_START.match(b):
        return a + " " + b
    return a + b


def _join_lines(lines: list[_Line]) -> str:
    text = ""
    for line in lines:
        text = _join(text, line.text)
    return text.strip()


def _rules(page: pymupdf.Page) -> tuple[list[tuple], list[tuple]]:
    """Horizontal and vertical rules as (position, start, end): strokes and hairline fills."""
    hs: list[tuple] = []
    vs: list[tuple] = []
    for path in page.get_cdrawings():
        stroked = "s" in path["type"]
        if _is_white(path.get("color") if stroked else path.get("fill")):
            continue
        for item in path["items"]:
            kind = item[0]
            if kind == "l":
                (ax, ay), (bx, by) = item[1], item[2]
                if abs(ay - by) <= 1:
                    hs.append(((ay + by) / 2, min(ax, bx), max(ax, bx)))
                elif abs(ax - bx) <= 1:
                    vs.append(((ax + bx) / 2, min(ay, by), max(ay, by)))
                continue
            if kind == "re":
                x0, y0, x1, y1 = item[1]
            elif kind == "qu":
                px = [p[0] for p in item[1]]
                py = [p[1] for p in item[1]]
                x0, y0, x1, y1 = min(px), min(py), max(px), max(py)
            else:
                continue
            x0, x1 = min(x0, x1), max(x0, x1)
            y0, y1 = min(y0, y1), max(y0, y1)
            w, h = x1 - x0, y1 - y0
            if h <= THIN < w:
                hs.append(((y0 + y1) / 2, x0, x1))
            elif w <= THIN < h:
                vs.append(((x0 + x1) / 2, y0, y1))
            elif stroked and w > THIN and h > THIN:
                hs += [(y0, x0, x1), (y1, x0, x1)]
                vs += [(x0, y0, y1), (x1, y0, y1)]
    return _merge_collinear(hs), _merge_collinear(vs)


def _is_white(color) -> bool:
    if not color:
        return True  # nothing painted
    if len(color) == 4:  # CMYK
        return max(color) < 0.05
    return min(color) > 0.95


def _merge_collinear(segs: list[tuple]) -> list[tuple]:
    """Pieces of one rule (Word draws a border per cell) become one segment."""
    segs.sort()
    out: list[tuple] = []
    i = 0
    while i < len(segs):
        j = i
        while j + 1 < len(segs) and segs[j + 1][0] - segs[i][0] <= TOL:
            j += 1
        group = sorted(segs[i:j + 1], key=lambda s: s[1])
        pos = sum(s[0] for s in group) / len(group)
        start, end = group[0][1], group[0][2]
        for _, a, b in group[1:]:
            if a <= end + TOL:
                end = max(end, b)
            else:
                out.append((pos, start, end))
                start, end = a, b
        out.append((pos, start, end))
        i = j + 1
    return out


def _cluster(values: list[float]) -> list[float]:
    values = sorted(values)
    out: list[list[float]] = []
    for v in values:
        if out and v - out[-1][0] <= TOL:
            out[-1].append(v)
        else:
            out.append([v])
    return [sum(g) / len(g) for g in out]


def _nearest(points: list[float], v: float) -> int:
    i = bisect_left(points, v)
    if i == len(points) or (i > 0 and v - points[i - 1] < points[i] - v):
        i -= 1
    return i


def _tables(page: pymupdf.Page, number: int, words: list, notes: list[str]):
    """Grids on the page, the words of each cell, and the words outside every grid."""
    hs, vs = _rules(page)
    if len(hs) < 2 or not vs:
        return [], [], words
    if len(hs) + len(vs) > MAX_RULES:
        notes.append(f"page {number}: {len(hs) + len(vs)} ruling lines, over the {MAX_RULES} a page "
                     "may have: no table read on it, its text read as paragraphs")
        return [], [], words
    grids, owners = [], []  # owners: per grid, a function word-centre → cell index or None
    for comp_h, comp_v in _components(hs, vs):
        built = _grid(comp_h, comp_v, number, page.rect.height, notes)
        if built is not None:
            grids.append(built[0])
            owners.append(built[1])
    if not grids:
        return [], [], words
    cell_words = [[[] for _ in g.cells] for g in grids]
    body = []
    for w in words:
        cx, cy = (w[0] + w[2]) / 2, (w[1] + w[3]) / 2
        for k, owner in enumerate(owners):
            idx = owner(cx, cy)
            if idx is not None:
                cell_words[k][idx].append(w)
                break
        else:
            body.append(w)
    return grids, cell_words, body


def _components(hs: list[tuple], vs: list[tuple]):
    """Rules that touch or cross form one table."""
    sets = UnionFind(len(hs) + len(vs))
    hs.sort()
    ys = [h[0] for h in hs]
    for k, (x, y0, y1) in enumerate(vs):
        for i in range(bisect_left(ys, y0 - TOL), bisect_right(ys, y1 + TOL)):
            _, x0, x1 = hs[i]
            if x0 - TOL <= x <= x1 + TOL:
                sets.union(i, len(hs) + k)
    groups: dict[int, tuple[list, list]] = {}
    for i, h in enumerate(hs):
        groups.setdefault(sets.find(i), ([], []))[0].append(h)
    for k, v in enumerate(vs):
        groups.setdefault(sets.find(len(hs) + k), ([], []))[1].append(v)
    return [g for g in groups.values() if g[0] and g[1]]


def _grid(hs: list[tuple], vs: list[tuple], number: int, page_height: float, notes: list[str]):
    """Cells of one ruled table: elementary grid, then merge where the rule between is missing."""
    xs = _cluster([v[0] for v in vs] + [min(h[1] for h in hs), max(h[2] for h in hs)])
    ys = _cluster([h[0] for h in hs] + [min(v[1] for v in vs), max(v[2] for v in vs)])
    n_r, n_c = len(ys) - 1, len(xs) - 1
    if n_c < 2 or n_r < 1:
        return None
    if n_r * n_c > MAX_GRID_CELLS:
        notes.append(f"page {number}: a ruled grid of {n_r}×{n_c} cells, over the {MAX_GRID_CELLS}-cell "
                     "limit: not read as a table, its text read as paragraphs")
        return None
    # wall_v[c][r]: the rule on column line c is drawn beside elementary row r
    wall_v = _walls(vs, xs, ys)
    wall_h = _walls(hs, ys, xs)
    merged = merge_cells(n_r, n_c, lambda r, c: wall_v[c][r], lambda r, c: wall_h[r][c])
    if merged is None:
        return None  # one box around text is a frame, not a table
    found, owner_of = merged
    cells = [_Cell(m.row, m.col, m.rowspan, m.colspan, number,
                   (xs[m.c0], ys[m.r0], xs[m.c1 + 1], ys[m.r1 + 1])) for m in found]
    col_keep = sorted({m.c0 for m in found})
    grid = _Grid(page=number, bbox=(xs[0], ys[0], xs[-1], ys[-1]),
                 xs=[xs[c] for c in col_keep] + [xs[-1]], n_rows=max(m.row for m in found) + 1,
                 cells=cells, bottom_share=ys[-1] / page_height)

    def owner(cx: float, cy: float) -> int | None:
        if not (xs[0] < cx < xs[-1] and ys[0] < cy < ys[-1]):
            return None
        return owner_of[bisect_right(ys, cy) - 1][bisect_right(xs, cx) - 1]

    return grid, owner


def _walls(segs: list[tuple], lines: list[float], across: list[float]) -> list[list[bool]]:
    """For each grid line, which of the intervals between the `across` lines a rule covers."""
    walls = [[False] * (len(across) - 1) for _ in lines]
    for pos, start, end in segs:
        row = walls[_nearest(lines, pos)]
        for i in range(bisect_left(across, start - TOL), bisect_right(across, end + TOL) - 1):
            row[i] = True
    return walls


# ---- whole document: running heads, paragraphs, tables over page breaks -----------------

def _drop_running_heads(pages: list[_Page]) -> None:
    """Band lines repeated on two or more pages (numbers aside) are running heads: dropped.

    The others were body text that happened to sit near the edge: they go back.
    """
    def key(line: _Line) -> str:
        return re.sub(r"\d+", "#", line.text.replace(" ", ""))

    seen = Counter(k for p in pages for k in {key(ln) for ln in p.heads})
    for page in pages:
        kept = [ln for ln in page.heads if seen[key(ln)] < 2]
        if kept:
            page.lines = _visual_lines(page.lines + kept)


@dataclass(slots=True)
class _Margins:
    """The body text's left and right edges, learnt over the whole document."""
    left: float
    right: float
    gap: float  # usual space between two lines of one paragraph

    @classmethod
    def of(cls, pages: list[_Page]) -> _Margins:
        lines = [ln for p in pages for ln in p.lines]
        if not lines:
            return cls(0.0, 0.0, 0.0)
        floor = max(2, len(lines) // 10)
        lefts = Counter(round(ln.x0 / TOL) for ln in lines)
        rights = Counter(round(ln.x1 / TOL) for ln in lines)
        left = min((k for k, n in lefts.items() if n >= floor), default=min(lefts)) * TOL
        # Ragged-right text (no justification) spreads the right edges over many buckets:
        # where no bucket is common, a high percentile of the edges stands for the margin.
        common_right = max((k for k, n in rights.items() if n >= floor), default=None)
        edges = sorted(ln.x1 for ln in lines)
        right = max(common_right * TOL if common_right is not None else 0.0,
                    edges[int(0.9 * (len(edges) - 1))])
        gaps = sorted(b.y0 - a.y1 for p in pages for a, b in zip(p.lines, p.lines[1:])
                      if b.y0 > a.y1)
        return cls(left, right, gaps[len(gaps) // 2] if gaps else 0.0)


@dataclass(slots=True)
class _Para:
    page: int
    bbox: tuple[float, float, float, float]
    text: str
    open_start: bool  # starts at the left margin: may continue the previous page's paragraph
    open_end: bool    # its last line runs to the right margin: may go on over the page
    margin: bool = False  # wholly in the page's head or foot band
    score: float | None = None  # lowest OCR score of its lines; None for the text layer
    evidence: tuple[float, float, float, float] | None = None  # on the stored page, if OCR'd


def _page_items(page: _Page, m: _Margins) -> list:
    """The page's paragraphs and tables, top to bottom."""
    flow = sorted([(ln.y0, 1, ln) for ln in page.lines] + [(g.bbox[1], 0, g) for g in page.grids],
                  key=lambda t: (t[0], t[1]))
    items: list = []
    para: list[_Line] = []
    for _, _, obj in flow:
        if isinstance(obj, _Grid):
            if para:
                items.append(_paragraph(para, page.number, m))
                para = []
            items.append(obj)
        elif para and _new_paragraph(para[-1], obj, m):
            items.append(_paragraph(para, page.number, m))
            para = [obj]
        else:
            para.append(obj)
    if para:
        items.append(_paragraph(para, page.number, m))
    for item in items:
        if isinstance(item, _Para):
            item.margin = (item.bbox[3] <= HEAD_BAND * page.height
                           or item.bbox[1] >= (1 - HEAD_BAND) * page.height)
    return items


def _new_paragraph(prev: _Line, line: _Line, m: _Margins) -> bool:
    size = max(prev.height, line.height)
    return (line.y0 - prev.y1 > m.gap + 0.6 * size           # extra space between
            or abs(prev.height - line.height) > 0.25 * size   # a heading's size changes
            or line.x0 > m.left + 0.5 * size                  # indented or centred
            or prev.x1 < m.right - 1.5 * size                 # the last line stopped short
            or bool(_HEADING_START.match(line.text)))


def _paragraph(lines: list[_Line], number: int, m: _Margins) -> _Para:
    first, last = lines[0], lines[-1]
    bbox = (min(ln.x0 for ln in lines), first.y0, max(ln.x1 for ln in lines), last.y1)
    score = evidence = None
    for line in lines:
        score = _min_score(score, line.score)
        evidence = _union(evidence, line.evidence)
    return _Para(number, bbox, _join_lines(lines),
                 open_start=first.x0 <= m.left + 0.5 * first.height,
                 open_end=last.x1 >= m.right - 1.5 * last.height, score=score, evidence=evidence)


def _join_across_pages(pages: list[list]) -> list:
    """A table or paragraph cut by a page break is one item again. Text in the page's head
    or foot band that was not taken for a running head (a page number OCR misread, a
    footnote) lies between the two parts, not in the body's flow: it does not stop a join."""
    out: list = []
    tail = None  # the item that ended the previous page, if it may go on
    for items in pages:
        body = [it for it in items if not (isinstance(it, _Para) and it.margin)]
        if not body:
            tail = None  # a blank or scanned page: nothing known to continue
            out += items
            continue
        first, joined = body[0], True
        if isinstance(tail, _Grid) and isinstance(first, _Grid) and _continues(tail, first):
            _append_part(tail, first)
        elif (isinstance(tail, _Para) and isinstance(first, _Para)
              and tail.open_end and first.open_start and not _HEADING_START.match(first.text)):
            tail.text = _join(tail.text, first.text)
            tail.open_end = first.open_end
            tail.score = _min_score(tail.score, first.score)
        else:
            joined = False
        out += [it for it in items if not (joined and it is first)]
        if not (joined and body[-1] is first):  # else the joined item goes on as the tail
            tail = body[-1]
    return out


def _continues(top: _Grid, part: _Grid) -> bool:
    """Same table over the page break: it ran to the page bottom, and the new part's columns
    sit on the table's column lines (one may lack a line the other has)."""
    if top.bottom_share < 0.66:
        return False
    if abs(top.xs[0] - part.xs[0]) > 2 * TOL or abs(top.xs[-1] - part.xs[-1]) > 2 * TOL:
        return False
    fewer, more = sorted((top.xs, part.xs), key=len)
    return all(abs(more[_nearest(more, x)] - x) <= 2 * TOL for x in fewer)


def _append_part(top: _Grid, part: _Grid) -> None:
    xs = _cluster(top.xs + part.xs)
    for grid in (top, part):
        to_new = [_nearest(xs, x) for x in grid.xs]
        for cell in grid.cells:
            cell.c, cell.cs = to_new[cell.c], to_new[cell.c + cell.cs] - to_new[cell.c]
        grid.xs = xs

    skip = _repeated_header_rows(top, part)
    base = top.n_rows
    seam: dict[tuple[int, int], _Cell] = {(c.c, c.cs): c for c in top.cells if c.r + c.rs == base}
    first = [c for c in part.cells if c.r == skip]
    cut = _rest_of_cut_row(seam, first)
    rest = {id(c) for c in first} if cut else set()
    for cell in part.cells:
        if cell.r < skip:
            continue
        cell.r += base - skip - cut
        above = seam.get((cell.c, cell.cs)) if cell.r + cut == base else None
        if id(cell) in rest:  # the cut row's two halves are one row again
            above.text = _join(above.text, cell.text)
            above.rs += cell.rs - 1
            above.score = _min_score(above.score, cell.score)
            continue
        # A merged cell cut by the break: its text sits in one part, the other part is empty.
        # The part's cell must span rows too: a one-row cell under a merged header (四's
        # figures under 结果维持) is a row of its own, blank or not.
        if above is not None and cell.rs > 1 and not (above.text and cell.text):
            above.rs += cell.rs
            if not above.text:
                above.text, above.page, above.bbox = cell.text, cell.page, cell.bbox
                above.score, above.source, above.candidates = cell.score, cell.source, cell.candidates
            continue
        top.cells.append(cell)
    top.n_rows = base + part.n_rows - skip - cut
    top.bottom_share = part.bottom_share


def _rest_of_cut_row(seam: dict[tuple[int, int], _Cell], first: list[_Cell]) -> int:
    """1 where the part's first row is the rest of the row the break cut (Word and WPS let
    a row break over a page unless told not to), else 0. Its cells are those of the row
    above; the figures stayed whole above, so some cell above has text where this one is
    empty; and what text it has goes on a label from above (Chinese, no figure, not numbered
    as a row of its own is)."""
    if not any(c.text for c in first) or any((c.c, c.cs) not in seam for c in first):
        return 0
    pairs = [(seam[c.c, c.cs], c) for c in first]
    goes_on = all(above.text and _CJK.search(c.text) and not _DIGIT.search(c.text)
                  and not _NEW_ROW.match(c.text) for above, c in pairs if c.text)
    return int(goes_on and any(above.text and not c.text for above, c in pairs))


def _repeated_header_rows(top: _Grid, part: _Grid) -> int:
    """How many of the part's first rows repeat the table's header (Word's 标题行重复)."""
    def row(grid: _Grid, r: int) -> list[tuple]:
        return sorted((c.c, c.cs, c.rs, c.text) for c in grid.cells if c.r == r)

    best = 0
    for k in range(1, min(3, part.n_rows, top.n_rows) + 1):
        if row(top, k - 1) != row(part, k - 1) or not any(t for *_, t in row(part, k - 1)):
            break
        if all(c.r + c.rs <= k for c in part.cells if c.r < k):
            best = k
    return best
