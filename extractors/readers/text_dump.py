"""Text dumps of Word reports, as in eval/seeds: table cells are lines that start with a TAB,
a blank line starts a new table row, and a cell's text may continue on untabbed lines.

Vertically merged cells print as empty cells in each row they cover, so rows keep their
placeholder cells; the grid position of a cell is its index in the row.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..document import Cell, Document, DocumentBuilder
from .encoding import decode_text

_IMAGE = re.compile(r"^\s*\[image:?\s*([^\]]*)\]\s*$", re.I)


def read_text_dump(path: Path) -> Document:
    text = decode_text(path.read_bytes())
    return parse_text_dump(text, str(path))


def parse_text_dump(text: str, name: str = "<text>") -> Document:
    builder = DocumentBuilder(name, "txt")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    rows: list[list[str]] = []
    blanks = 0  # blank lines since the last non-blank one
    last = ""  # kind of the last non-blank line: cell | para | ""

    def flush_table() -> None:
        if rows:
            builder.table([[Cell(text=t.strip(), row=r, col=c) for c, t in enumerate(row)]
                           for r, row in enumerate(rows)])
            rows.clear()

    for i, line in enumerate(lines):
        if line.startswith("\t"):  # a cell, even an empty one ("\t" alone)
            cells = line.split("\t")[1:]
            if last != "cell" or blanks > 0 or not rows:
                rows.append([])
            rows[-1].extend(cells)
            last = "cell"
        elif not line.strip():
            blanks += 1
            continue
        elif last == "cell" and rows and (blanks == 0 or (blanks == 1 and _next_is_cell(lines, i))):
            # A wrapped cell: Word printed the rest of the cell's text on its own line.
            rows[-1][-1] += line.strip()
        else:
            flush_table()
            image = _IMAGE.match(line)
            if image:  # where Word had a picture, the dump prints a marker
                builder.image(image.group(1) or None)
            else:
                builder.paragraph(line)
            last = "para"
        blanks = 0
    flush_table()
    return builder.doc


def _next_is_cell(lines: list[str], i: int) -> bool:
    for line in lines[i + 1:]:
        if line.strip():
            return line.startswith("\t")
    return False
