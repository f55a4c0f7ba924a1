"""DOCX reader: the main document body, in order, into the one Document model.

The package is opened here, not by python-docx: python-docx loads every part any relationship
names, so one dangling picture reference made the whole report unreadable, where only the
picture is lost. The body is walked as raw XML: what matters here (merged cells as grid spans,
text boxes, tracked changes, tables inside cells) is hidden by python-docx's object model.
"""

from __future__ import annotations

import posixpath
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

from lxml import etree

from ..document import Cell, Document, DocumentBuilder
from ..errors import ReadError
from ..grid import MAX_SPAN, MAX_TABLE_CELLS
from .pictures import Loader, read_pictures

# Zip bomb limits, checked on the central directory before anything is inflated. zipfile
# never inflates a member past its declared size, so declared sizes are a safe bound.
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
MAX_RATIO = 200  # deflate tops out near 1000:1; real document.xml stays well under 100:1
RATIO_MIN_BYTES = 1024 * 1024  # tiny parts can have silly ratios harmlessly
MAX_MEMBERS = 10_000
# XML levels below the document root walked as structure. Real documents stay under 50 (a text
# box in a table in a text box); each level is a Python call, so a file nesting hyperlinks or
# content controls thousands deep would exhaust the stack. Deeper content is read as plain text.
MAX_DEPTH = 200

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"

P, TBL, TR, TC = _W + "p", _W + "tbl", _W + "tr", _W + "tc"
T, TAB, PTAB, BR, CR = _W + "t", _W + "tab", _W + "ptab", _W + "br", _W + "cr"
NB_HYPHEN = _W + "noBreakHyphen"
# Run elements that stand for one character of the text
_INLINE_CHARS = {TAB: " ", PTAB: " ", BR: "\n", CR: "\n", NB_HYPHEN: "-"}
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
TR_PR, TC_PR = _W + "trPr", _W + "tcPr"

_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_MAIN_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"

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
    builder = DocumentBuilder(str(path), "docx")
    try:
        with zipfile.ZipFile(path) as zf:
            body, targets = _body(zf, path.name, builder.doc.warnings)
            _Walker(builder, targets).blocks(body, builder.paragraph, None, 1)
            pictures = _pictures(zf, builder.doc)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise ReadError("corrupt", f"{path.name}: not a readable DOCX document ({exc})") from exc
    return builder.doc, pictures.get


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


def _body(zf: zipfile.ZipFile, name: str, warnings: list[str]):
    """The document body, and the zip members its relationships point to by id (pictures
    among them; None for a target outside the package or missing from it). Macro-enabled
    documents and templates differ only in content type, which is not looked at."""
    members = set(zf.namelist())
    try:
        main = next((member for kind, member in _relationships(zf, members, "").values()
                     if kind == _MAIN_DOCUMENT), None)
        if main is None:
            raise ReadError("corrupt", f"{name}: no Word document in the package")
        root = etree.fromstring(zf.read(main), _XML)
    except (KeyError, ValueError, etree.XMLSyntaxError) as exc:
        raise ReadError("corrupt", f"{name}: not a readable DOCX document ({exc})") from exc
    body = root.find(_W + "body")
    if body is None:
        raise ReadError("corrupt", f"{name}: the document has no body")
    try:
        targets = {rid: member for rid, (_, member) in _relationships(zf, members, main).items()}
    except (ValueError, etree.XMLSyntaxError) as exc:
        # Only pictures are looked up by relationship: the text is still there to read.
        warnings.append(f"the document's relationships cannot be read ({exc}): its pictures are not read")
        targets = {}
    return body, targets


def _relationships(zf: zipfile.ZipFile, members: set[str], part: str) -> dict[str, tuple[str, str | None]]:
    """The relationships of package part `part` ("" for the package's own): id → (type, the
    zip member targeted, or None where that is outside the package or absent). Links to
    outside the package (TargetMode External) are left out."""
    folder, base = posixpath.split(part)
    rels = posixpath.join(folder, "_rels", f"{base}.rels")
    if rels not in members:
        return {}
    found: dict[str, tuple[str, str | None]] = {}
    for rel in etree.fromstring(zf.read(rels), _XML).iter(_PKG_REL):
        target = rel.get("Target") or ""
        if rel.get("TargetMode") == "External" or not target:
            continue
        # Targets are relative to the part's folder, or to the package root with a leading /.
        member = posixpath.normpath(target[1:] if target.startswith("/") else posixpath.join(folder, target))
        found[rel.get("Id") or ""] = (rel.get("Type") or "", member if member in members else None)
    return found


def _pictures(zf: zipfile.ZipFile, doc: Document) -> dict[str, bytes]:
    """The bytes of the pictures the body shows, by the names its Image blocks give them
    ("/" and the member). A damaged one is left out: OCR skips it, the rest is read."""
    found: dict[str, bytes] = {}
    for name in {b.image.name for b in doc.blocks if b.image is not None and b.image.name}:
        try:
            found[name] = zf.read(name[1:])
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            doc.warnings.append(f"picture {name} is damaged ({exc}): not read")
    return found


def _val(el, child: str) -> str | None:
    """w:val of `child` under `el`; "" when the child is present without a value."""
    found = el.find(_W + child) if el is not None else None
    return None if found is None else found.get(VAL, "")


def _int(value: str | None, default: int) -> int:
    """A count of grid columns (gridBefore, gridSpan), at most MAX_SPAN."""
    try:
        return min(max(int(value), 0), MAX_SPAN) if value else default
    except ValueError:
        return default


def _flat_text(el) -> str:
    """The text under `el` at any depth, walked without recursion (content nested past
    MAX_DEPTH): what the walker reads, but text boxes and tables run in as lines, and a
    paragraph's end is a line break."""
    parts: list[str] = []
    walk = etree.iterwalk(el, events=("start", "end"))
    for event, node in walk:
        tag = node.tag
        if event == "end":
            if tag == P:
                parts.append("\n")
        elif tag == T:
            parts.append(node.text or "")
        elif tag in _INLINE_CHARS:
            parts.append(_INLINE_CHARS[tag])
        elif tag in _SKIP_INLINE or not isinstance(tag, str) \
                or (tag in (CHOICE, FALLBACK) and node is not _choose(node.getparent())) \
                or (tag == TR and _val(node.find(TR_PR), "del") is not None):
            walk.skip_subtree()
    return "".join(parts)


def _choose(alt):
    """One branch of mc:AlternateContent: both carry the same content, in two dialects."""
    for branch in alt:
        if branch.tag in (CHOICE, FALLBACK):
            return branch
    return None


class _Walker:
    """Walks the body. `depth` is an element's XML level (the body's is 1); elements past
    MAX_DEPTH are read by _flat_text."""

    def __init__(self, builder: DocumentBuilder, targets: dict[str, str | None]):
        self.builder = builder
        self.targets = targets  # relationship id → zip member

    def _warn(self, message: str) -> None:
        if message not in self.builder.doc.warnings:
            self.builder.doc.warnings.append(message)

    def _too_deep(self) -> None:
        self._warn(f"content nested more than {MAX_DEPTH} levels deep read as plain text; "
                   "pictures in it not read")

    def blocks(self, container, on_paragraph: Callable[[str], None], nested: list | None,
               depth: int) -> None:
        """Paragraphs and tables of `container` (at `depth`) in order. Tables are emitted at
        once, or, inside a table cell, collected in `nested` with their depth to be emitted
        after the outer table."""
        if depth >= MAX_DEPTH:
            self._too_deep()
            for line in _flat_text(container).split("\n"):
                on_paragraph(line)
            return
        for child in container:
            tag = child.tag
            if tag == P:
                boxes: list = []
                on_paragraph(self._paragraph(child, boxes, depth + 1))
                for box, at in boxes:
                    self.blocks(box, on_paragraph, nested, at)
                if nested is None:
                    for picture in child.iter(*_PICTURES):
                        # Tables pasted as pictures: OCR reads them (readers/pictures.py)
                        self._picture(picture.get(_R_EMBED) or picture.get(_R_ID))
            elif tag == TBL:
                if nested is None:
                    self.table(child, depth + 1)
                else:
                    nested.append((child, depth + 1))
            elif tag == SDT:
                content = child.find(SDT_CONTENT)
                if content is not None:
                    self.blocks(content, on_paragraph, nested, depth + 2)
            elif tag in _BLOCK_WRAPPERS:
                self.blocks(child, on_paragraph, nested, depth + 1)
            elif tag == ALT:
                branch = _choose(child)
                if branch is not None:
                    self.blocks(branch, on_paragraph, nested, depth + 2)

    def _picture(self, rid: str | None) -> None:
        member = self.targets.get(rid) if rid else None
        if rid and member is None:
            # A reference to nothing in the package: that picture is lost, not the report.
            self._warn(f"picture {rid}: its relationship points to nothing in the package; not read")
        self.builder.image(f"/{member}" if member is not None else None)

    def _paragraph(self, p, boxes: list, depth: int) -> str:
        parts: list[str] = []
        self._inline(p, parts, boxes, depth)
        return "".join(parts)

    def _inline(self, el, parts: list[str], boxes: list, depth: int) -> None:
        if depth >= MAX_DEPTH:
            self._too_deep()
            parts.append(_flat_text(el))
            return
        for child in el:
            tag = child.tag
            if tag == T:
                parts.append(child.text or "")
            elif tag in _INLINE_CHARS:
                parts.append(_INLINE_CHARS[tag])
            elif tag == TXBX:
                boxes.append((child, depth + 1))  # its paragraphs are paragraphs of their own
            elif tag == ALT:
                branch = _choose(child)
                if branch is not None:
                    self._inline(branch, parts, boxes, depth + 2)
            elif tag in _SKIP_INLINE or not isinstance(tag, str):
                continue
            else:
                self._inline(child, parts, boxes, depth + 1)

    def table(self, tbl, depth: int) -> None:
        # Where each row starts and each cell spans, first: the grid a table claims is known
        # before any of it is built.
        rows = []  # per row: its first column, and its cells with their depth, tcPr and span
        for tr, at in _collect(tbl, TR, depth):
            tr_pr = tr.find(TR_PR)
            if _val(tr_pr, "del") is not None:
                continue  # a row deleted with tracked changes is gone for the reader
            cells = []
            for tc, tc_at in _collect(tr, TC, at):
                tc_pr = tc.find(TC_PR)
                cells.append((tc, tc_at, tc_pr, max(_int(_val(tc_pr, "gridSpan"), 1), 1)))
            rows.append((_int(_val(tr_pr, "gridBefore"), 0), cells))
        width = max((before + sum(span for *_, span in cells) for before, cells in rows), default=0)
        if len(rows) * width > MAX_TABLE_CELLS:
            self._warn(f"a table of {len(rows)} rows × {width} columns is past the {MAX_TABLE_CELLS}-cell "
                       "cap: read as text")
            for _, cells in rows:
                for tc, at, _, _ in cells:
                    self.blocks(tc, self.builder.paragraph, None, at)
            return
        nested: list = []
        grid: list[list[Cell]] = []
        open_cells: dict[int, Cell] = {}  # start column -> cell a vertical merge may extend
        for r, (col, cells) in enumerate(rows):
            row: list[Cell] = []
            for tc, at, tc_pr, span in cells:
                vmerge = _val(tc_pr, "vMerge")
                continues = vmerge in ("", "continue")
                text = self._cell_text(tc, nested, at)
                above = open_cells.get(col)
                if continues and above is not None and r - above.row < MAX_SPAN:
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
                    if vmerge == "restart" or (continues and above is not None):
                        open_cells[col] = cell  # a merge longer than MAX_SPAN goes on in a new cell
                col += span
            grid.append(row)
        self.builder.table(grid)
        for inner, at in nested:
            self.table(inner, at)

    def _cell_text(self, tc, nested: list, depth: int) -> str:
        lines: list[str] = []
        self.blocks(tc, lines.append, nested, depth)
        return "\n".join(line for line in (s.strip() for s in "\n".join(lines).split("\n")) if line)


def _collect(el, tag: str, depth: int) -> list[tuple]:
    """Children of `el` (at `depth`) tagged `tag`, with their depth, looking through
    content-control and custom-XML wrappers at any depth (a stack, not recursion)."""
    found: list[tuple] = []
    stack = [(child, depth + 1) for child in reversed(el)]
    while stack:
        child, at = stack.pop()
        if child.tag == tag:
            found.append((child, at))
        elif child.tag == SDT:
            content = child.find(SDT_CONTENT)
            if content is not None:
                stack.extend((c, at + 2) for c in reversed(content))
        elif child.tag in _BLOCK_WRAPPERS:
            stack.extend((c, at + 1) for c in reversed(child))
    return found
