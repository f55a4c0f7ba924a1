"""DOCX reader: the main document body, in order, into the one Document model.

python-docx opens the package; the body is walked as raw XML because python-docx's object
model hides what matters here: merged cells as grid spans, text boxes, tracked changes and
tables inside cells.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

from docx.opc.exceptions import PackageNotFoundError
from docx.package import Package
from lxml import etree

from ..document import Cell, Document, DocumentBuilder
from ..errors import ReadError
from .pictures import Loader, read_pictures

# Zip bomb limits, checked on the central directory before anything is inflated. zipfile
# never inflates a member past its declared size, so declared sizes are a safe bound.
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
MAX_RATIO = 200  # deflate tops out near 1000:1; real document.xml stays well under 100:1
RATIO_MIN_BYTES = 1024 * 1024  # tiny parts can have silly ratios harmlessly
MAX_MEMBERS = 10_000

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"

P, TBL, TR, TC = _W + "p", _W + "tbl", _W + "tr", _W + "tc"
T, TAB, PTAB, BR, CR = _W + "t", _W + "tab", _W + "ptab", _W + "br", _W + "cr"
NB_HYPHEN = _W + "noBreakHyphen"
TXBX = _W + "txbxContent"
SDT, SDT_CONTENT = _W + "sdt", _W + "sdtContent"
ALT, CHOICE, FALLBACK = _MC + "AlternateContent", _MC + "Choice", _MC + "Fallback"
VAL = _W + "val"

# Inside a paragraph: properties (w:tabs in w:pPr are tab stops, not tabs), deleted and
# moved-away text, and field instructions are not what the reader sees.
_SKIP_INLINE = frozenset(_W + n for n in ("pPr", "rPr", "del", "moveFrom", "instrText", "delText",
                                         "delInstrText", "sdtPr", "sdtEndPr"))
# Wrappers that may hold block content (paragraphs, tables) or rows or cells.
# A picture in a run: DrawingML (Word 2007+) or VML (older files).
_PICTURES = ("{http://schemas.openxmlformats.org/drawingml/2006/main}blip",
             "{urn:schemas-microsoft-com:vml}imagedata")
_R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_R_EMBED, _R_ID = _R + "embed", _R + "id"  # a DrawingML blip's picture, a VML imagedata's
_BLOCK_WRAPPERS = frozenset(_W + n for n in ("customXml", "sdtContent", "ins", "moveTo", "smartTag"))

_XML = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


def read_docx(path: Path) -> Document:
    doc, load = read_docx_native(path)
    read_pictures(doc, load)
    return doc


def read_docx_native(path: Path) -> tuple[Document, Loader]:
    """The text and tables, the pictures not read yet (see read_html_native). The pictures
    are held in memory: the loader works after the file is gone."""
    path = Path(path)
    _check_zip(path)
    body, pictures = _body(path)
    builder = DocumentBuilder(str(path), "docx")
    _Walker(builder, pictures).blocks(body, builder.paragraph, None)
    by_name = {str(part.partname): part for part in pictures.values()}
    return builder.doc, lambda name: by_name[name].blob if name in by_name else None


def _check_zip(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ReadError("corrupt", f"{path.name}: not a readable DOCX (zip) file ({exc})") from exc
    if len(infos) > MAX_MEMBERS:
        raise ReadError("too_large", f"{path.name}: {len(infos)} zip members; looks like a zip bomb")
    total = sum(i.file_size for i in infos)
    if total > MAX_UNZIPPED_BYTES:
        raise ReadError("too_large", f"{path.name}: {total} bytes uncompressed, over the "
                        f"{MAX_UNZIPPED_BYTES}-byte cap; looks like a zip bomb")
    for info in infos:
        if info.file_size > RATIO_MIN_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise ReadError("too_large", f"{path.name}: {info.filename} inflates "
                            f"{info.compress_size} bytes to {info.file_size}; looks like a zip bomb")
        if info.flag_bits & 0x1:
            raise ReadError("encrypted", f"{path.name}: {info.filename} is encrypted")


def _body(path: Path):
    """The document body, and the parts its relationships point to by id (pictures among them)."""
    try:
        part = Package.open(str(path)).main_document_part
        related = {rid: rel.target_part for rid, rel in part.rels.items() if not rel.is_external}
        # Macro-enabled and template documents have other content types, so python-docx
        # leaves them unparsed; their XML is the same.
        root = part.element if hasattr(part, "element") else etree.fromstring(part.blob, _XML)
    except (PackageNotFoundError, KeyError, ValueError, etree.XMLSyntaxError, zipfile.BadZipFile,
            zlib.error, EOFError) as exc:
        raise ReadError("corrupt", f"{path.name}: not a readable DOCX document ({exc})") from exc
    body = root.find(_W + "body")
    if body is None:
        raise ReadError("corrupt", f"{path.name}: the document has no body")
    return body, related


def _val(el, child: str) -> str | None:
    """w:val of `child` under `el`; "" when the child is present without a value."""
    found = el.find(_W + child) if el is not None else None
    return None if found is None else found.get(VAL, "")


def _int(value: str | None, default: int) -> int:
    try:
        return max(int(value), 0) if value else default
    except ValueError:
        return default


def _choose(alt):
    """One branch of mc:AlternateContent: both carry the same content, in two dialects."""
    for branch in alt:
        if branch.tag in (CHOICE, FALLBACK):
            return branch
    return None


class _Walker:
    def __init__(self, builder: DocumentBuilder, parts: dict):
        self.builder = builder
        self.parts = parts  # relationship id → package part

    def blocks(self, container, on_paragraph: Callable[[str], None], nested: list | None) -> None:
        """Paragraphs and tables of `container` in order. Tables are emitted at once, or, inside
        a table cell, collected in `nested` to be emitted after the outer table."""
        for child in container:
            tag = child.tag
            if tag == P:
                boxes: list = []
                on_paragraph(self._paragraph(child, boxes))
                for box in boxes:
                    self.blocks(box, on_paragraph, nested)
                if nested is None:
                    for picture in child.iter(*_PICTURES):
                        # Tables pasted as pictures: OCR reads them (readers/pictures.py)
                        part = self.parts.get(picture.get(_R_EMBED) or picture.get(_R_ID))
                        self.builder.image(str(part.partname) if part is not None else None)
            elif tag == TBL:
                if nested is None:
                    self.table(child)
                else:
                    nested.append(child)
            elif tag == SDT:
                content = child.find(SDT_CONTENT)
                if content is not None:
                    self.blocks(content, on_paragraph, nested)
            elif tag in _BLOCK_WRAPPERS:
                self.blocks(child, on_paragraph, nested)
            elif tag == ALT:
                branch = _choose(child)
                if branch is not None:
                    self.blocks(branch, on_paragraph, nested)

    def _paragraph(self, p, boxes: list) -> str:
        parts: list[str] = []
        self._inline(p, parts, boxes)
        return "".join(parts)

    def _inline(self, el, parts: list[str], boxes: list) -> None:
        for child in el:
            tag = child.tag
            if tag == T:
                parts.append(child.text or "")
            elif tag in (TAB, PTAB):
                parts.append(" ")
            elif tag in (BR, CR):
                parts.append("\n")
            elif tag == NB_HYPHEN:
                parts.append("-")
            elif tag == TXBX:
                boxes.append(child)  # its paragraphs are paragraphs of their own
            elif tag == ALT:
                branch = _choose(child)
                if branch is not None:
                    self._inline(branch, parts, boxes)
            elif tag in _SKIP_INLINE or not isinstance(tag, str):
                continue
            else:
                self._inline(child, parts, boxes)

    def table(self, tbl) -> None:
        nested: list = []
        grid: list[list[Cell]] = []
        open_cells: dict[int, Cell] = {}  # start column -> cell a vertical merge may extend
        for r, tr in enumerate(self._rows(tbl)):
            row: list[Cell] = []
            tr_pr = tr.find(_W + "trPr")
            col = _int(_val(tr_pr, "gridBefore"), 0)
            for tc in self._cells(tr):
                tc_pr = tc.find(_W + "tcPr")
                span = max(_int(_val(tc_pr, "gridSpan"), 1), 1)
                vmerge = _val(tc_pr, "vMerge")
                text = self._cell_text(tc, nested)
                above = open_cells.get(col)
                if vmerge in ("", "continue") and above is not None:
                    # Same cell as the one above: grow it, keep any stray text of the part.
                    above.rowspan = r - above.row + 1
                    if text:
                        above.text = f"{above.text}\n{text}" if above.text else text
                elif _val(tc_pr, "hMerge") in ("", "continue") and row:
                    # Word 97's horizontal merge: this part belongs to the cell on its left.
                    row[-1].colspan += span
                else:
                    cell = Cell(text=text, row=r, col=col, colspan=span)
                    row.append(cell)
                    for c in range(col, col + span):
                        open_cells.pop(c, None)
                    if vmerge == "restart":
                        open_cells[col] = cell
                col += span
            grid.append(row)
        self.builder.table(grid)
        for inner in nested:
            self.table(inner)

    @staticmethod
    def _rows(tbl) -> list:
        rows: list = []
        _Walker._collect(tbl, TR, rows)
        # A row deleted with tracked changes is gone for the reader.
        return [tr for tr in rows if _val(tr.find(_W + "trPr"), "del") is None]

    @staticmethod
    def _cells(tr) -> list:
        cells: list = []
        _Walker._collect(tr, TC, cells)
        return cells

    @staticmethod
    def _collect(el, tag: str, out: list) -> None:
        """Children tagged `tag`, looking through content-control and custom-XML wrappers."""
        for child in el:
            if child.tag == tag:
                out.append(child)
            elif child.tag == SDT:
                content = child.find(SDT_CONTENT)
                if content is not None:
                    _Walker._collect(content, tag, out)
            elif child.tag in _BLOCK_WRAPPERS:
                _Walker._collect(child, tag, out)

    def _cell_text(self, tc, nested: list) -> str:
        lines: list[str] = []
        self.blocks(tc, lines.append, nested)
        return "\n".join(line for line in (s.strip() for s in "\n".join(lines).split("\n")) if line)
