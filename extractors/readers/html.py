"""HTML reader: portal pages and Word's "save as web page" output, into the one Document model.

Portal markup is often broken, mis-declared and wrapped in layout tables, so decoding trusts
bytes over declarations where they disagree, and a table is kept as a table only when it
looks like data rather than page layout.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from pathlib import Path

from lxml import etree

from ..document import Cell, Document, DocumentBuilder
from ..errors import ReadError
from .pictures import Loader, data_uri_bytes, fetched_name, local_loader, pictures_folder, read_pictures
from .encoding import GB_FAMILY, decode_bom, detect_encoding, is_utf8

# Western single-byte declarations on Chinese pages are template defaults, never the truth.
_WESTERN = {"ascii", "iso8859-1", "cp1252"}

_DECLARED = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_:.\-]+)""", re.I)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9_:.\-]+)""", re.I)

_BLOCK = frozenset("""address article aside blockquote body center dd details dialog dir div dl dt
    fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr html legend li main
    menu nav ol p pre section summary ul tr td th thead tbody tfoot caption""".split())
_ROW, _CELL = frozenset({"tr"}), frozenset({"td", "th"})
_DROPPED = ("script", "style", "noscript", "template")
_SPACE = re.compile(r"[ \t\r\n\f\v]+")  # source whitespace only: &nbsp; and U+3000 are text
_DIGITS = re.compile(r"\s*(\d+)")  # browsers read "2;" or "2px" as 2

# A table with tables inside is page layout unless it has many cells of its own and most of
# its text is outside the inner tables (a data table with a small table in one cell).
_LAYOUT_MAX_CELLS = 4

# Plain etree elements: lxml.html's element classes cost a lookup per node and add nothing here.
_PARSER = etree.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)


def read_html(path: Path) -> Document:
    doc, load = read_html_native(path)
    read_pictures(doc, load)
    return doc


def read_html_native(path: Path) -> tuple[Document, Loader]:
    """The page's text and tables, its pictures not read yet: the document and a loader of
    the pictures by the names the document gives them."""
    path = Path(path)
    data = path.read_bytes()
    if not data.strip():
        raise ReadError("empty", f"{path.name}: the file is empty")
    text = decode_html(data)
    if not text.strip():
        raise ReadError("empty", f"{path.name}: the page has no content")
    try:
        root = etree.fromstring(text.encode("utf-8"), parser=_PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise ReadError("corrupt", f"{path.name}: cannot parse the page as HTML ({exc})") from exc
    if root is None:
        raise ReadError("empty", f"{path.name}: the page has no content")
    etree.strip_elements(root, *_DROPPED, with_tail=False)
    body = root.find("body")
    walker = _Walker(DocumentBuilder(str(path), "html"))
    walker.document(body if body is not None else root)
    beside = local_loader(path.parent)  # a page saved by a browser: page.html, page_files/
    fetched = local_loader(pictures_folder(path))  # a page harvested with its pictures
    return walker.builder.doc, lambda name: (walker.inline.get(name) or beside(name)
                                             or fetched(fetched_name(name)))


def img_src(img) -> str:
    """Where an <img> is: lazy-loading pages put the real address in data-src or data-original."""
    return (img.get("data-src") or img.get("data-original") or img.get("src") or "").strip()


def decode_html(data: bytes) -> str:
    """BOM, then the page's own declaration, then detection."""
    by_bom = decode_bom(data)
    if by_bom is not None:
        return by_bom
    declared = _declared_encoding(data)
    if declared is not None:
        # A page declared GB2312 but saved as UTF-8 (or the reverse) is common; valid non-ASCII
        # UTF-8 essentially never happens by chance in GBK text, so the bytes win.
        if declared != "utf-8" and not data.isascii() and is_utf8(data):
            return data.decode("utf-8")
        try:
            return data.decode(declared)
        except UnicodeDecodeError:
            pass
    return detect_encoding(data)


def _declared_encoding(data: bytes) -> str | None:
    head = data[:65536]
    match = _XML_DECL.match(head) or _DECLARED.search(head)
    if not match:
        return None
    label = match.group(1).decode("ascii").lower()
    if label in GB_FAMILY:
        return "gb18030"
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    if name in GB_FAMILY:
        return "gb18030"
    if name in _WESTERN or name.startswith("utf-16") or name.startswith("utf-32"):
        # A UTF-16 declaration found by an ASCII regex cannot be true of these bytes.
        return None
    return name


class _Flow:
    """Inline text gathered until a block boundary, then handed to `sink` as one line."""

    def __init__(self, sink: Callable[[str], None]):
        self.sink = sink
        self.buf: list[str] = []

    def add(self, text: str | None) -> None:
        if text:
            self.buf.append(text)

    def brk(self) -> None:
        if self.buf:
            text = _SPACE.sub(" ", "".join(self.buf)).strip()
            self.buf.clear()
            if text:
                self.sink(text)


def _tag(el) -> str:
    return el.tag if isinstance(el.tag, str) else ""


def _span(el, attr: str, cap: int) -> int:
    value = el.get(attr)
    if value is None:
        return 1
    match = _DIGITS.match(value)
    return min(int(match.group(1)), cap) if match else 1


def _own(el, wanted: frozenset[str]) -> tuple[list, list]:
    """Elements tagged `wanted` under `el`, not looking inside them or inside nested tables;
    also the nested tables met on the way (tables placed outside any cell)."""
    found, tables = [], []
    stack = list(reversed(el))
    while stack:
        child = stack.pop()
        tag = _tag(child)
        if tag in wanted:
            found.append(child)
        elif tag == "table":
            tables.append(child)
        else:
            stack.extend(reversed(child))
    return found, tables


def _text_len(el) -> int:
    return sum(len("".join(s.split())) for s in el.itertext())


class _Walker:
    def __init__(self, builder: DocumentBuilder):
        self.builder = builder
        self.inline: dict[str, bytes] = {}  # pictures given in data: URIs, by the name given them
        self.flow = _Flow(self.builder.paragraph)

    def document(self, root) -> None:
        self._walk(root, self.flow, self._table)
        self.flow.brk()

    def _walk(self, el, flow: _Flow, on_table: Callable) -> None:
        pre = _tag(el) == "pre"
        self._add(flow, el.text, pre)
        for child in el:
            tag = _tag(child)
            if tag == "table":
                flow.brk()
                on_table(child)
            elif tag == "br":
                flow.brk()
            elif tag == "img":
                # Tables pasted as pictures: the extractor must know something is there.
                flow.brk()
                self.builder.image(self._picture(img_src(child)))
            elif tag in _BLOCK:
                flow.brk()
                self._walk(child, flow, on_table)
                flow.brk()
            elif tag:
                self._walk(child, flow, on_table)
            self._add(flow, child.tail, pre)

    def _picture(self, src: str) -> str | None:
        """The name a picture goes by: its src, or for a data: URI a short name of its own."""
        if not src.startswith("data:"):
            return src or None
        name = f"inline-image-{len(self.inline) + 1}"
        self.inline[name] = data_uri_bytes(src) or b""
        return name

    @staticmethod
    def _add(flow: _Flow, text: str | None, pre: bool) -> None:
        if not text:
            return
        if not pre:
            flow.add(text)
            return
        lines = text.split("\n")
        for i, line in enumerate(lines):
            if i:
                flow.brk()
            flow.add(line)

    def _table(self, table) -> None:
        # Tables sitting in the table or a row but outside any cell (broken markup) are "stray".
        rows, stray = _own(table, _ROW)
        cells_by_row = []
        for tr in rows:
            cells, tables = _own(tr, _CELL)
            cells_by_row.append(cells)
            stray += tables
        captions = [c for c in table if _tag(c) == "caption"]
        for caption in captions:
            self._walk(caption, self.flow, self._table)
            self.flow.brk()
        if self._is_layout(table, cells_by_row):
            for row in cells_by_row:
                for cell in row:
                    self._walk(cell, self.flow, self._table)
                    self.flow.brk()
            for inner in stray:
                self._table(inner)
            return
        nested: list = []
        grid = self._grid(cells_by_row, nested)
        self.builder.table(grid)
        for inner in nested + stray:
            self._table(inner)

    @staticmethod
    def _is_layout(table, cells_by_row: list[list]) -> bool:
        n_cells = sum(len(r) for r in cells_by_row)
        if n_cells <= 1:
            return True  # a one-cell box is a frame around text, not a grid
        # Stray tables do not count: browsers close the outer table before them.
        inner = [t for row in cells_by_row for c in row for t in _own(c, frozenset())[1]]
        if not inner:
            return False
        if n_cells <= _LAYOUT_MAX_CELLS:
            return True
        return 2 * sum(_text_len(t) for t in inner) >= _text_len(table)

    def _grid(self, cells_by_row: list[list], nested: list) -> list[list[Cell]]:
        n_rows = len(cells_by_row)
        taken: dict[int, set[int]] = {}  # grid row -> columns covered by spans from above/left
        grid: list[list[Cell]] = []
        for r, row in enumerate(cells_by_row):
            out: list[Cell] = []
            col = 0
            used = taken.setdefault(r, set())
            for el in row:
                while col in used:
                    col += 1
                rowspan = _span(el, "rowspan", 65534)
                # rowspan="0" and spans past the end both stop at the table's last row.
                rowspan = n_rows - r if rowspan == 0 else min(rowspan, n_rows - r)
                colspan = max(_span(el, "colspan", 1000), 1)
                for rr in range(r, r + rowspan):
                    taken.setdefault(rr, set()).update(range(col, col + colspan))
                out.append(Cell(text=self._cell_text(el, nested), row=r, col=col,
                                rowspan=rowspan, colspan=colspan))
                col += colspan
            taken.pop(r, None)
            grid.append(out)
        return grid

    def _cell_text(self, cell, nested: list) -> str:
        if len(cell) == 0:  # most cells are bare text; skip the flow machinery
            return _SPACE.sub(" ", cell.text or "").strip()
        lines: list[str] = []
        flow = _Flow(lines.append)
        self._walk(cell, flow, nested.append)
        flow.brk()
        return "\n".join(lines)
