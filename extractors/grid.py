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


def _rectangles(cells: list[tuple[int, int]], wall_left, wall_above) -> list[list[int]]:
    """A region of grid cells joined through missing walls, as the rectangles it stands for.
    A table's cells are rectangles, so a region that is not one was joined through a wall
    that is there but was not seen (a rule broken by a shadow, a stroke taken for a rule
    splitting a header): it is cut into column runs (cells joined to the ones below), then
    runs side by side with the same rows joined. Label cells spanning rows, the commonest
    merge, survive that; the side-by-side join that made an L does not."""
    rows = [r for r, _ in cells]
    cols = [c for _, c in cells]
    box = [min(rows), min(cols), max(rows), max(cols)]
    if len(cells) == (box[2] - box[0] + 1) * (box[3] - box[1] + 1):
        return [box]
    inside = set(cells)
    runs: list[list[int]] = []
    for r, c in sorted(cells, key=lambda rc: (rc[1], rc[0])):
        last = runs[-1] if runs else None
        if last and last[1] == c and last[2] == r - 1 and (r - 1, c) in inside and not wall_above(r, c):
            last[2] = r
        else:
            runs.append([r, c, r, c])
    merged = True
    while merged:  # join runs side by side that cover the same rows, with no wall between
        merged = False
        for a in runs:
            b = next((b for b in runs if b is not a and b[0] == a[0] and b[2] == a[2] and b[1] == a[3] + 1
                      and all(not wall_left(r, b[1]) for r in range(a[0], a[2] + 1))), None)
            if b is not None:
                a[3] = b[3]
                runs.remove(b)
                merged = True
                break
    return runs


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
    regions: dict[int, list[tuple[int, int]]] = {}
    for r in range(n_rows):
        for c in range(n_cols):
            regions.setdefault(sets.find(r * n_cols + c), []).append((r, c))
    spans: dict[int, list[int]] = {}  # region id → [r0, c0, r1, c1]
    for cells_of in regions.values():
        for rect in _rectangles(cells_of, wall_left, wall_above):
            spans[len(spans)] = rect
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
