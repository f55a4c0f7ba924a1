"""Ruled tables in a page image: the ruling lines by morphology, the grid they draw, and its
cells with their spans (two grid cells are one merged cell where the rule between them is
not drawn). Everything here is in image pixels."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..grid import merge_cells

# Cells of one table's elementary grid: the 三 table has 250, and an A4 page at 200 dpi can
# hold about 47 000 (rules at least 3 pt apart). Each costs two rule tests and a crop to read.
MAX_GRID_CELLS = 50_000


@dataclass(slots=True)
class GridCell:
    row: int
    col: int
    rowspan: int
    colspan: int
    rect: tuple[int, int, int, int]  # x0, y0, x1, y1: the rules around the cell


@dataclass
class ImageTable:
    rect: tuple[int, int, int, int]
    xs: list[int]  # grid lines, left to right (only those where some cell starts, and the right edge)
    ys: list[int]
    cells: list[GridCell]
    # For the elementary grid (before merged cells are put together): which cell owns it.
    _owner: np.ndarray
    _fine_xs: np.ndarray
    _fine_ys: np.ndarray

    def cell_at(self, x: float, y: float) -> int | None:
        """Index of the cell holding the point, or None outside the table."""
        if not (self._fine_xs[0] < x < self._fine_xs[-1] and self._fine_ys[0] < y < self._fine_ys[-1]):
            return None
        c = int(np.searchsorted(self._fine_xs, x)) - 1
        r = int(np.searchsorted(self._fine_ys, y)) - 1
        return int(self._owner[r, c])


@dataclass
class Rules:
    horizontal: np.ndarray  # masks of the ruling lines, 255 on 0
    vertical: np.ndarray

    @property
    def both(self) -> np.ndarray:
        return cv2.bitwise_or(self.horizontal, self.vertical)


def find_rules(ink: np.ndarray, dpi: int) -> Rules:
    """Horizontal and vertical rules: ink runs longer than any stroke of a character.

    A 3-px closing first bridges the pin-holes noise and JPEG leave in a thin printed rule; a
    wider one would join the strokes of neighbouring glyphs (二十 → one long stroke). Horizontal
    runs must be longer than vertical ones: a line of text can string strokes along (一一,
    ——), while a row of a table is often less than half an inch high.
    """
    h = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 1)))
    h = cv2.morphologyEx(h, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (max(30, dpi // 2), 1)))
    v = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 3)))
    v = cv2.morphologyEx(v, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(15, dpi // 5))))
    return Rules(h, v)


def find_tables(rules: Rules, dpi: int, notes: list[str] | None = None) -> list[ImageTable]:
    """One table per connected set of rules that draws at least two cells; a grid of more
    than MAX_GRID_CELLS cells is no table (its text is read as text), and `notes` says so."""
    notes = [] if notes is None else notes
    tol = max(3, round(dpi * 3 / 72))  # 3 pt: rules this close are one line
    joined = cv2.dilate(rules.both, cv2.getStructuringElement(cv2.MORPH_RECT, (tol, tol)))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    tables = []
    for k in range(1, count):
        x, y, w, h, _ = stats[k]
        if w < dpi // 2 or h < dpi // 5:
            continue  # an underline or a stray rule
        region = labels[y:y + h, x:x + w] == k
        table = _table(rules.horizontal[y:y + h, x:x + w] * region,
                       rules.vertical[y:y + h, x:x + w] * region, (x, y), tol, notes)
        if table is not None:
            tables.append(table)
    return sorted(tables, key=lambda t: t.rect[1])


def _line_positions(mask: np.ndarray, axis: int, tol: int) -> list[int]:
    """Centres of the rules of one direction: peaks of the mask's profile across them, where
    a rule covers at least a fifth of the table (a rule drawn only inside a merged area is
    still a grid line; text never makes such long runs)."""
    profile = (mask > 0).sum(axis=axis)
    length = mask.shape[axis]
    on = np.flatnonzero(profile >= max(3, 0.05 * length))
    lines: list[list[int]] = []
    for i in on:
        if lines and i - lines[-1][-1] <= tol:
            lines[-1].append(int(i))
        else:
            lines.append([int(i)])
    return [round(sum(g) / len(g)) for g in lines]


def _covered(mask: np.ndarray, pos: int, a: int, b: int, tol: int, horizontal: bool) -> bool:
    """Whether a rule runs along `pos` between a and b (most of the way: scans break rules)."""
    lo, hi = max(0, pos - tol), pos + tol + 1
    band = mask[lo:hi, a:b] if horizontal else mask[a:b, lo:hi].T
    if band.size == 0:
        return False
    return (band > 0).any(axis=0).mean() >= 0.6


def _inside(a: int, b: int, tol: int) -> tuple[int, int]:
    """The stretch of a cell's side a wall test looks at: its ends left out, where the
    crossing rules are (tol + 1 each), but never all of it. A column narrower than two of
    those (a grid line from the strokes of glyphs stacked in a narrow cell) left nothing to
    test, so its walls were never found and the cells above and below it merged: the header
    of 四 with its figures."""
    pad = min(tol + 1, max(0, (b - a) // 4))
    return a + pad, b - pad


def _table(h_mask: np.ndarray, v_mask: np.ndarray, origin: tuple[int, int], tol: int, notes: list[str]):
    ys = _line_positions(h_mask, 1, tol)
    xs = _line_positions(v_mask, 0, tol)
    if len(xs) < 2 or len(ys) < 2:
        return None
    n_r, n_c = len(ys) - 1, len(xs) - 1
    if n_r * n_c > MAX_GRID_CELLS:
        notes.append(f"a ruled grid of {n_r}×{n_c} cells, over the {MAX_GRID_CELLS}-cell limit: "
                     "not read as a table, its text read as text")
        return None
    merged = merge_cells(
        n_r, n_c,
        lambda r, c: _covered(v_mask, xs[c], *_inside(ys[r], ys[r + 1], tol), tol, horizontal=False),
        lambda r, c: _covered(h_mask, ys[r], *_inside(xs[c], xs[c + 1], tol), tol, horizontal=True))
    if merged is None:
        return None  # a box drawn around text
    found, owner_of = merged
    ox, oy = origin
    cells = [GridCell(m.row, m.col, m.rowspan, m.colspan,
                      (xs[m.c0] + ox, ys[m.r0] + oy, xs[m.c1 + 1] + ox, ys[m.r1 + 1] + oy))
             for m in found]
    owner = np.array(owner_of, dtype=np.int32)
    row_keep = sorted({m.r0 for m in found})
    col_keep = sorted({m.c0 for m in found})
    fine_xs = np.array(xs) + ox
    fine_ys = np.array(ys) + oy
    return ImageTable(rect=(int(fine_xs[0]), int(fine_ys[0]), int(fine_xs[-1]), int(fine_ys[-1])),
                      xs=[int(fine_xs[c]) for c in col_keep] + [int(fine_xs[-1])],
                      ys=[int(fine_ys[r]) for r in row_keep] + [int(fine_ys[-1])],
                      cells=cells, _owner=owner, _fine_xs=fine_xs, _fine_ys=fine_ys)
