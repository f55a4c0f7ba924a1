"""Cells of a ruled table from its rules, whatever drew them (PDF vector lines or the pixels
of a scan): the elementary grid between every rule position, merged wherever the rule
between two neighbours is missing."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass

# Bounds on what a file may claim of a table, for every reader and everything that lays a table
# out as a grid (review evidence, the LLM's table text): a span or offset costs a loop or a
# list entry per row or column it claims, whatever the cell holds.
# Rows or columns one span or offset (colspan, DOCX gridSpan/gridBefore, a vMerge run) may
# claim: a 年报's widest table has about 20 columns; browsers cap colspan at 1000 too.
MAX_SPAN = 1000
# Grid positions (rows × columns) of one table: some 300 times the template's largest table
# (三, about 30 × 10). Past it the table's text is kept and its grid is not.
MAX_TABLE_CELLS = 100_000


@dataclass(frozen=True, slots=True)
class MergedCell:
    r0: int  # elementary rows and columns it covers, inclusive
    c0: int
    r1: int
    c1: int
    row: int  # position and spans in the table, once grid lines that start no cell are gone
    col: int
    rowspan: int
    colspan: int


class UnionFind:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[ra] = rb


def merge_cells(n_rows: int, n_cols: int, wall_left: Callable[[int, int], bool],
                wall_above: Callable[[int, int], bool]) -> tuple[list[MergedCell], list[list[int]]] | None:
    """`wall_left(r, c)`: a rule separates elementary cell (r, c) from (r, c-1);
    `wall_above(r, c)`: from (r-1, c). Returns the cells and, per elementary cell, the index
    of the cell that owns it; None for a single box (a frame around text, not a table), or
    for a grid past MAX_TABLE_CELLS."""
    if n_rows * n_cols > MAX_TABLE_CELLS:
        return None
    sets = UnionFind(n_rows * n_cols)
    for r in range(n_rows):
        for c in range(1, n_cols):
            if not wall_left(r, c):
                sets.union(r * n_cols + c, r * n_cols + c - 1)
    for r in range(1, n_rows):
        for c in range(n_cols):
            if not wall_above(r, c):
                sets.union(r * n_cols + c, (r - 1) * n_cols + c)
    spans: dict[int, list[int]] = {}  # root → [r0, c0, r1, c1]
    for r in range(n_rows):
        for c in range(n_cols):
            s = spans.setdefault(sets.find(r * n_cols + c), [r, c, r, c])
            s[0], s[1], s[2], s[3] = min(s[0], r), min(s[1], c), max(s[2], r), max(s[3], c)
    if len(spans) < 2:
        return None
    # Grid lines that start no cell (a rule drawn only inside a merged area) are no row/column.
    row_keep = sorted({s[0] for s in spans.values()})
    col_keep = sorted({s[1] for s in spans.values()})
    row_at = {r: i for i, r in enumerate(row_keep)}
    col_at = {c: i for i, c in enumerate(col_keep)}
    cells: list[MergedCell] = []
    owner = [[0] * n_cols for _ in range(n_rows)]
    for r0, c0, r1, c1 in spans.values():
        row, col = row_at[r0], col_at[c0]
        for r in range(r0, r1 + 1):
            owner[r][c0:c1 + 1] = [len(cells)] * (c1 - c0 + 1)
        cells.append(MergedCell(r0, c0, r1, c1, row, col,
                                bisect_right(row_keep, r1) - row, bisect_right(col_keep, c1) - col))
    return cells, owner
