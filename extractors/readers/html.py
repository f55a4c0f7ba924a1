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
from ..grid import MAX_SPAN, MAX_TABLE_CELLS
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
# Element levels below the root walked as structure: real pages stay under 60 or so (Word's
# nested layout tables included); each level is a Python call, so thousands of unclosed
# <div>s would exhaust the stack. Deeper content is read as plain text.
MAX_DEPTH = 200

# Plain etree elements: lxml.html's element classes cost a lookup per node and add nothing here.
# huge_tree: without it libxml2 stops at 256 levels and drops the rest of the page unsaid; with
# it, at 2048 (said in the document's warnings).
_PARSER = etree.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True, huge_tree=True)


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
    too_deep = any(e.type_name == "ERR_RESOURCE_LIMIT" for e in _PARSER.error_log)
    etree.strip_elements(root, *_DROPPED, with_tail=False)
    body = root.find("body")
    walker = _Walker(DocumentBuilder(str(path), "html"))
    walker.builder.doc.title = _page_title(root)
    if too_deep:
        walker.builder.doc.warnings.append("the page nests elements past the parser's limit: "
                                           "what follows the deepest part is lost")
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
    """Inline text gathered until a block boundary, then handed to `sink` as one line.
    `link_share` is, while the sink runs, the share of the line's characters inside <a>."""

    def __init__(self, sink: Callable[[str], None]):
        self.sink = sink
        self.buf: list[str] = []
        self.in_link = 0  # <a> elements open around the text being added
        self.linked = self.chars = 0
        self.link_share = 0.0

    def add(self, text: str | None) -> None:
        if text:
            self.buf.append(text)
            n = len("".join(text.split()))
            self.chars += n
            if self.in_link:
                self.linked += n

    def brk(self) -> None:
        if self.buf:
            text = _SPACE.sub(" ", "".join(self.buf)).strip()
            self.link_share = self.linked / self.chars if self.chars else 0.0
            self.buf.clear()
            self.linked = self.chars = 0
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


def _own(el, wanted: frozenset[str], depth: int) -> tuple[list, list]:
    """Elements tagged `wanted` under `el` (at `depth`), not looking inside them or inside
    nested tables; also the nested tables met on the way (tables placed outside any cell).
    Each with its depth."""
    found, tables = [], []
    stack = [(child, depth + 1) for child in reversed(el)]
    while stack:
        child, at = stack.pop()
        tag = _tag(child)
        if tag in wanted:
            found.append((child, at))
        elif tag == "table":
            tables.append((child, at))
        else:
            stack.extend((c, at + 1) for c in reversed(child))
    return found, tables


def _flat(el, flow: _Flow) -> None:
    """The text of `el` at any depth, walked without recursion (content nested past
    MAX_DEPTH): blocks and cells break lines; tables and pictures are not made."""
    for event, node in etree.iterwalk(el, events=("start", "end")):
        tag = _tag(node)
        if tag in _BLOCK or tag in ("br", "table"):
            flow.brk()
        if event == "start" and tag:
            flow.add(node.text)
        elif event == "end" and node is not el:
            flow.add(node.tail)


def _place(cells_by_row: list[list]) -> list[list[tuple[int, int, int]]] | None:
    """Column, rowspan and colspan of each cell as browsers lay them out (a cell spanning rows
    pushes the cells below it to the right); None when the grid is past MAX_TABLE_CELLS, found
    before it is built."""
    n_rows = len(cells_by_row)
    free_from: list[int] = []  # per column: the first row no rowspan from above covers
    width = 0
    placed = []
    for r, row in enumerate(cells_by_row):
        out = []
        col = 0
        for el, _ in row:
            while col < len(free_from) and free_from[col] > r:
                col += 1
            rowspan = _span(el, "rowspan", 65534)
            # rowspan="0" and spans past the end both stop at the table's last row.
            rowspan = n_rows - r if rowspan == 0 else min(rowspan, n_rows - r)
            colspan = max(_span(el, "colspan", MAX_SPAN), 1)
            width = max(width, col + colspan)
            if n_rows * width > MAX_TABLE_CELLS:
                return None
            if rowspan > 1:
                free_from.extend([0] * (col + colspan - len(free_from)))
                for c in range(col, col + colspan):
                    free_from[c] = max(free_from[c], r + rowspan)
            out.append((col, rowspan, colspan))
            col += colspan
        placed.append(out)
    return placed


def _text_len(el) -> int:
    return sum(len("".join(s.split())) for s in el.itertext())


# A line whose characters are at least this share link text is a menu or a list of links.
LINK_DENSE = 0.5
# The article holds at least this share of the page's text outside links; below this much
# text in all, a page has no article to tell from its furniture.
ARTICLE_SHARE = 0.8
ARTICLE_MIN_CHARS = 200
# Furniture as pages mark it: HTML5's elements and ARIA's landmark roles, and the class and
# id words that site templates use for the same parts.
_CHROME_TAGS = frozenset({"footer", "nav", "header", "aside"})
_CHROME_ROLES = frozenset({"contentinfo", "navigation", "banner", "complementary", "search"})
_CHROME_NAMES = re.compile(r"(?:^|[\s_-])(?:footer|foot|bottom|nav|navbar|menu|breadcrumbs?|crumbs?|"
                           r"copyright|share|toolbar|sidebar)(?:$|[\s_-])", re.I)


def _page_title(root) -> str | None:
    title = root.find("head/title")
    text = _SPACE.sub(" ", "".join(title.itertext())).strip() if title is not None else ""
    return text or None


def _article(root):
    """The element holding the page's article: the deepest one that holds ARTICLE_SHARE of the
    page's text outside links. Menus are links, and a footer is a small share of a report, so
    the descent stops at the container of the report's own paragraphs and tables; a page split
    into parts of comparable size (Word's WordSection1, 2 …) keeps their common parent."""
    sizes: dict = {}
    for _, el in etree.iterwalk(root, events=("end",)):
        if _tag(el) == "a" or not _tag(el):
            sizes[el] = 0
            continue
        sizes[el] = _chars(el.text) + sum(sizes.get(c, 0) + _chars(c.tail) for c in el)
    total = sizes.get(root, 0)
    if total < ARTICLE_MIN_CHARS:
        return None
    node = root
    while True:
        best = max(node, key=lambda c: sizes.get(c, 0), default=None)
        if best is None or sizes.get(best, 0) < ARTICLE_SHARE * total:
            return node
        node = best


def _chrome(root, article) -> set:
    """Elements marked as footer, navigation or header, outside the article and not around it."""
    around = set(article.iterancestors()) | {article} if article is not None else set()
    found = set()
    for el in root.iter():
        tag = _tag(el)
        if not tag or el in around:
            continue
        names = f"{el.get('class') or ''} {el.get('id') or ''}"
        if tag in _CHROME_TAGS or (el.get("role") or "").lower() in _CHROME_ROLES \
                or _CHROME_NAMES.search(names):
            found.add(el)
    return found


def _chars(text: str | None) -> int:
    return len("".join(text.split())) if text else 0


class _Walker:
    def __init__(self, builder: DocumentBuilder):
        self.builder = builder
        self.inline: dict[str, bytes] = {}  # pictures given in data: URIs, by the name given them
        self.flow = _Flow(self._paragraph)
        self.article = None  # the element holding the page's article (see _article)
        self.chrome: set = set()  # footer, navigation and header elements outside it
        self.in_chrome = 0
        self.after_article = False

    def document(self, root) -> None:
        self.article = _article(root)
        self.chrome = _chrome(root, self.article)
        self._walk(root, self.flow, self._table, 0 if root.getparent() is None else 1)
        self.flow.brk()

    def _paragraph(self, text: str) -> None:
        furniture = ("chrome" if self.in_chrome else "outside" if self.after_article
                     else "links" if self.flow.link_share >= LINK_DENSE else None)
        self.builder.paragraph(text, furniture=furniture)

    def _warn(self, message: str) -> None:
        if message not in self.builder.doc.warnings:
            self.builder.doc.warnings.append(message)

    def _walk(self, el, flow: _Flow, on_table: Callable, depth: int) -> None:
        """`el` is at `depth`; `on_table(table, depth)` takes the tables met."""
        if depth >= MAX_DEPTH:
            self._warn(f"content nested more than {MAX_DEPTH} levels deep read as plain text; "
                       "tables and pictures in it not read as such")
            _flat(el, flow)
            return
        # Where the page's furniture or its article begins and ends, the text before is one
        # line and the text inside another, so that each line is marked for what it is in.
        chrome, article, link = el in self.chrome, el is self.article, _tag(el) == "a"
        if chrome or article:
            flow.brk()
        self.in_chrome += chrome
        flow.in_link += link
        self._walk_children(el, flow, on_table, depth)
        flow.in_link -= link
        if chrome or article:
            flow.brk()
        self.in_chrome -= chrome
        self.after_article = self.after_article or article

    def _walk_children(self, el, flow: _Flow, on_table: Callable, depth: int) -> None:
        pre = _tag(el) == "pre"
        self._add(flow, el.text, pre)
        for child in el:
            tag = _tag(child)
            if tag == "table":
                flow.brk()
                on_table(child, depth + 1)
            elif tag == "br":
                flow.brk()
            elif tag == "img":
                # Tables pasted as pictures: the extractor must know something is there.
                flow.brk()
                self.builder.image(self._picture(img_src(child)))
            elif tag in _BLOCK:
                flow.brk()
                self._walk(child, flow, on_table, depth + 1)
                flow.brk()
            elif tag:
                self._walk(child, flow, on_table, depth + 1)
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

    def _table(self, table, depth: int) -> None:
        # Tables sitting in the table or a row but outside any cell (broken markup) are "stray".
        rows, stray = _own(table, _ROW, depth)
        cells_by_row = []
        for tr, at in rows:
            cells, tables = _own(tr, _CELL, at)
            cells_by_row.append(cells)
            stray += tables
        captions = [c for c in table if _tag(c) == "caption"]
        for caption in captions:
            self._walk(caption, self.flow, self._table, depth + 1)
            self.flow.brk()
        layout = self._is_layout(table, cells_by_row)
        placed = None if layout else _place(cells_by_row)
        if placed is None:
            if not layout:
                self._warn(f"a table of {len(cells_by_row)} rows claims more than {MAX_TABLE_CELLS} "
                           "cells with its spans: read as text")
            for row in cells_by_row:
                for cell, at in row:
                    self._walk(cell, self.flow, self._table, at)
                    self.flow.brk()
            for inner, at in stray:
                self._table(inner, at)
            return
        nested: list = []
        grid = [[Cell(text=self._cell_text(el, nested, at), row=r, col=col, rowspan=rowspan, colspan=colspan)
                 for (el, at), (col, rowspan, colspan) in zip(row, spots)]
                for r, (row, spots) in enumerate(zip(cells_by_row, placed))]
        self.builder.table(grid)
        for inner, at in nested + stray:
            self._table(inner, at)

    @staticmethod
    def _is_layout(table, cells_by_row: list[list]) -> bool:
        n_cells = sum(len(r) for r in cells_by_row)
        if n_cells <= 1:
            return True  # a one-cell box is a frame around text, not a grid
        # Stray tables do not count: browsers close the outer table before them.
        inner = [t for row in cells_by_row for c, at in row for t, _ in _own(c, frozenset(), at)[1]]
        if not inner:
            return False
        if n_cells <= _LAYOUT_MAX_CELLS:
            return True
        return 2 * sum(_text_len(t) for t in inner) >= _text_len(table)

    def _cell_text(self, cell, nested: list, depth: int) -> str:
        if len(cell) == 0:  # most cells are bare text; skip the flow machinery
            return _SPACE.sub(" ", cell.text or "").strip()
        lines: list[str] = []
        flow = _Flow(lines.append)
        self._walk(cell, flow, lambda table, at: nested.append((table, at)), depth)
        flow.brk()
        return "\n".join(lines)
