"""Text-layer PDFs via PyMuPDF: A4 pages, wrapped paragraphs in the built-in CJK font (or
the layout's font, embedded), tables drawn with real ruling lines, long tables continued on
the next page as Word continues them: the header rows repeated or not, a merged cell's text
going on in its part on the next page, a row cut at the break where the layout lets rows
break (split_rows)."""

from __future__ import annotations

import fitz

from extractors.synth.blocks import Block, Para, Slot, Table, grid
from extractors.synth.fonts import face_bytes
from extractors.synth.layout import Layout

_FONT_NAME = "china-s"  # a CJK font PDF readers supply: text extracts, nothing to embed
_EMBEDDED = "cjk"  # the page's resource name for a font of the layout's choosing
_WIDTH, _HEIGHT = fitz.paper_size("a4")
_MARGIN = 56.0
_STYLE = {"title": (16.0, 1.6), "heading": (12.0, 1.7), "body": (10.5, 1.6), "noise": (9.0, 1.4)}


class _Font:
    """china-s, or `family`'s face embedded (measured by its own metrics)."""

    def __init__(self, family: str):
        self.face = face_bytes(family) if family else b""
        self.name = _EMBEDDED if family else _FONT_NAME
        self._metrics = fitz.Font(fontbuffer=self.face) if family else None

    def length(self, text: str, size: float) -> float:
        if self._metrics is not None:
            return self._metrics.text_length(text, fontsize=size)
        # As the viewer sets china-s (every glyph 1 em), not as the Droid fallback's metrics say.
        return fitz.get_text_length(text, fontname=_FONT_NAME, fontsize=size)

    def wrap(self, text: str, width: float, size: float) -> list[str]:
        lines, line, used = [], "", 0.0
        for ch in text:
            w = self.length(ch, size)
            if line and used + w > width:
                lines.append(line)
                line, used = "", 0.0
            line, used = line + ch, used + w
        return [*lines, line]


class _Writer:
    def __init__(self, layout: Layout, height: float):
        self.layout, self.height = layout, height
        self.font = _Font(layout.font)
        self.doc = fitz.open()
        self.page: fitz.Page
        self.shape: fitz.Shape | None = None
        # column → a merged cell's text not yet drawn: (x, first baseline, size, lines)
        self._merged: dict[int, tuple[float, float, float, list[str]]] = {}
        self.y = 0.0
        self._new_page()

    def _new_page(self) -> None:
        self._flush_lines()
        self.page = self.doc.new_page(width=_WIDTH, height=self.height)
        if self.font.face:
            self.page.insert_font(fontname=_EMBEDDED, fontbuffer=self.font.face)
        self.y = _MARGIN

    def _line(self, p1: tuple[float, float], p2: tuple[float, float]) -> None:
        if self.shape is None:
            self.shape = self.page.new_shape()
        self.shape.draw_line(p1, p2)

    def _flush_lines(self) -> None:
        """One drawing per table and page: readers cluster drawings into table areas."""
        if self.shape is not None:
            self.shape.finish(color=(0, 0, 0), width=0.6)
            self.shape.commit()
            self.shape = None

    def _fits(self, height: float) -> bool:
        return self.y + height <= self.height - _MARGIN

    def _text(self, x: float, baseline: float, text: str, size: float) -> None:
        if text:
            self.page.insert_text((x, baseline), text, fontname=self.font.name, fontsize=size)

    def para(self, para: Para) -> None:
        size, lead = _STYLE[para.role]
        lead *= size
        text = para.text.replace("\t", "    ")
        indent = 2 * size if para.role == "body" else 0.0
        width = _WIDTH - 2 * _MARGIN
        lines = self.font.wrap(text, width - indent, size)
        first, rest = lines[0], "".join(lines[1:])
        lines = [first, *(self.font.wrap(rest, width, size) if rest else [])]
        for i, line in enumerate(lines):
            if not self._fits(lead):
                self._new_page()
            x = _MARGIN + (indent if i == 0 else 0.0)
            if para.role == "title":
                x = (_WIDTH - self.font.length(line, size)) / 2
            self._text(x, self.y + size, line, size)
            self.y += lead
        self.y += size * 0.4

    def table(self, table: Table) -> None:
        slots = grid(table)
        size = 7.0 if table.ncols > 10 else 8.0
        lead, pad = size * 1.3, 2.5
        weights = table.col_widths()
        scale = (_WIDTH - 2 * _MARGIN) / sum(weights)
        xs = [_MARGIN]
        for w in weights:
            xs.append(xs[-1] + w * scale)
        lines: dict[tuple[int, int], list[str]] = {}
        heights = [lead + 2 * pad] * len(slots)
        for r, line in enumerate(slots):
            for c, slot in enumerate(line):
                if slot.starts_at(r, c):
                    inner = xs[c + slot.cell.colspan] - xs[c] - 2 * pad
                    lines[r, c] = [part for seg in slot.cell.text.split("\n")
                                   for part in self.font.wrap(seg, inner, size)]
                    if slot.cell.rowspan == 1:
                        heights[r] = max(heights[r], len(lines[r, c]) * lead + 2 * pad)
        for (r, c), text in lines.items():  # a merged cell's text must fit its rows
            span = slots[r][c].cell.rowspan
            need = len(text) * lead + 2 * pad - sum(heights[r:r + span])
            if span > 1 and need > 0:
                heights[r + span - 1] += need

        header = table.header_rows if self.layout.repeat_header else 0
        if table.top:
            self._new_page()
            self.y = table.top * self.height
        elif not self._fits(sum(heights[:table.header_rows + 1])):
            self._new_page()
        page_top = True
        for r in range(len(slots)):
            row = {c: lines.get((r, c), []) for c in range(len(slots[r]))}
            height = heights[r]
            if not self._fits(height):
                cut = self._cut(slots[r], r, row, lead, pad) if self.layout.split_rows else 0
                if cut:  # the row's first lines end this page, the rest open the next
                    self._row(slots, r, xs, cut * lead + 2 * pad,
                              {c: t[:cut] for c, t in row.items()}, size, lead, pad, page_top)
                    row = {c: t[cut:] for c, t in row.items()}
                    height -= cut * lead
                self._line((xs[0], self.y), (xs[-1], self.y))
                # As Word flows a merged cell's text on into the cell's part on the next page.
                over = self._merged_text(self.y - pad, lead)
                self._new_page()
                for h in range(header if r >= header else 0):
                    self._row(slots, h, xs, heights[h],
                              {c: lines.get((h, c), []) for c in range(len(slots[h]))},
                              size, lead, pad, top=h == 0)
                    self._merged_text(self.height, lead)
                page_top = header == 0 or cut > 0
                row = {c: over.get(c, []) + t for c, t in row.items()}
            self._row(slots, r, xs, height, row, size, lead, pad, page_top)
            page_top = False
        self._merged_text(self.height, lead)
        self._flush_lines()
        self.y += 2 * size

    def _cut(self, line: list[Slot], r: int, row: dict[int, list[str]], lead: float,
             pad: float) -> int:
        """How many of row r's text lines fit on this page when the row may break: 0 where
        none does, all do not need to, or a cell starting here spans rows."""
        fit = int((self.height - _MARGIN - self.y - 2 * pad) // lead)
        starting = [s for c, s in enumerate(line) if s.starts_at(r, c)]
        if any(s.cell.rowspan > 1 for s in starting):
            return 0
        most = max((len(t) for t in row.values()), default=0)
        return fit if 1 <= fit < most else 0

    def _row(self, slots: list[list[Slot]], r: int, xs: list[float], height: float,
             row: dict[int, list[str]], size: float, lead: float, pad: float,
             top: bool) -> None:
        """Draws the row; a merged cell's text waits for `_merged_text`, which knows where
        the cell's part on this page ends."""
        y0, y1 = self.y, self.y + height
        for c, slot in enumerate(slots[r]):
            if slot.col != c:
                continue
            x0, x1 = xs[c], xs[c + slot.cell.colspan]
            self._line((x0, y0), (x0, y1))
            self._line((x1, y0), (x1, y1))
            if slot.row == r or top:
                self._line((x0, y0), (x1, y0))
            if slot.row + slot.cell.rowspan - 1 == r:
                self._line((x0, y1), (x1, y1))
            if slot.cell.rowspan > 1 and row.get(c):
                self._merged[c] = (x0 + pad, y0 + pad + size, size, row[c])
                continue
            for i, text in enumerate(row.get(c, [])):
                self._text(x0 + pad, y0 + pad + size + i * lead, text, size)
        self.y = y1

    def _merged_text(self, bottom: float, lead: float) -> dict[int, list[str]]:
        """Draws the merged cells' text down to `bottom`; gives back, by column, the lines
        below it, which go on in the cell's part on the next page."""
        over: dict[int, list[str]] = {}
        for c, (x, baseline, size, texts) in self._merged.items():
            for i, text in enumerate(texts):
                if baseline + i * lead > bottom:
                    over[c] = texts[i:]
                    break
                self._text(x, baseline + i * lead, text, size)
        self._merged = {}
        return over

    def finish(self, year: int) -> bytes:
        self._flush_lines()
        stamp = f"D:{year + 1}0115090000"
        self.doc.set_metadata({"creationDate": stamp, "modDate": stamp, "producer": "",
                               "creator": ""})
        return self.doc.tobytes(garbage=3, deflate=True, no_new_id=True)


def render_pdf(blocks: list[Block], layout: Layout, year: int, height: float = _HEIGHT) -> bytes:
    """A4 pages; a taller `height` keeps a long table on one page (for table pictures)."""
    writer = _Writer(layout, height)
    for block in blocks:
        if isinstance(block, Table):
            writer.table(block)
        else:
            writer.para(block)
    return writer.finish(year)
