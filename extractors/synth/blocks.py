"""The format-neutral document that every renderer draws: paragraphs, merged-cell tables and
tables pasted as pictures.

Tables are given the way HTML gives them: each row lists only the cells that start in it,
with rowspan/colspan. `grid()` places them, for the renderers that need fixed positions
(text dump, DOCX, PDF).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Para:
    text: str
    role: str = "body"  # title | heading | body | noise (chart residue, OCR garbage)


@dataclass
class Cell:
    text: str  # "\n" separates lines inside the cell
    rowspan: int = 1
    colspan: int = 1


@dataclass
class Table:
    rows: list[list[Cell]]
    widths: list[float] = field(default_factory=list)  # relative column widths; empty = equal
    header_rows: int = 0  # rows a renderer may repeat after a page break
    kind: str = ""  # which template table: stats | active | requests | appeals
    top: float = 0.0  # PDF/DOCX: > 0 starts the table on a new page, this share of it down

    @property
    def ncols(self) -> int:
        return sum(c.colspan for c in self.rows[0])

    def col_widths(self) -> list[float]:
        return self.widths or [1.0] * self.ncols


@dataclass
class Picture:
    """A table pasted as an image, as portals often publish 三's big table."""
    table: Table  # what the image shows
    data: bytes  # PNG or JPEG
    name: str  # file name when stored beside an HTML page: table3.png

    @property
    def mime(self) -> str:
        return "image/png" if self.name.endswith(".png") else "image/jpeg"


Block = Para | Table | Picture


@dataclass(frozen=True)
class Slot:
    """One grid position: the cell covering it and where that cell starts."""
    cell: Cell
    row: int
    col: int

    def starts_at(self, r: int, c: int) -> bool:
        return (self.row, self.col) == (r, c)


def grid(table: Table) -> list[list[Slot]]:
    n = table.ncols
    slots: list[list[Slot | None]] = [[None] * n for _ in table.rows]
    for r, row in enumerate(table.rows):
        c = 0
        for cell in row:
            while slots[r][c] is not None:
                c += 1
            for dr in range(cell.rowspan):
                for dc in range(cell.colspan):
                    if slots[r + dr][c + dc] is not None:
                        raise ValueError(f"overlapping cells at row {r + dr}, column {c + dc}")
                    slots[r + dr][c + dc] = Slot(cell, r, c)
            c += cell.colspan
    for r, line in enumerate(slots):
        if any(s is None for s in line):
            raise ValueError(f"row {r} of the table is not full")
    return slots  # type: ignore[return-value]
